// Reads the import rules from docs/ARCHITECTURE.md and checks a tree of sources against them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ImportRules {
  /** part -> the parts it may import (itself always). */
  readonly parts: ReadonlyMap<string, ReadonlySet<string>>;
  /** package pattern (`grammy`, `@grammyjs/*`) -> the parts that may import it. */
  readonly packages: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface SourceFile {
  /** Relative to the repository, e.g. `src/deployer/queue.ts`. */
  readonly path: string;
  readonly text: string;
}

export interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly from: string;
  readonly to: string;
}

/**
 * The rules block of ARCHITECTURE.md: lines `part -> a, b, c` (or `-> nothing`) and
 * `package grammy, @grammyjs/* -> bot, app`, inside a ```rules fence.
 */
export function parseRules(markdown: string): ImportRules {
  const block = /```rules\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (!block) throw new Error('docs/ARCHITECTURE.md has no ```rules block');
  const parts = new Map<string, Set<string>>();
  const packages = new Map<string, Set<string>>();
  for (const raw of block.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(package\s+)?(.+?)\s*->\s*(.*)$/.exec(line);
    if (!m) throw new Error(`cannot read the rule "${line}"`);
    const targets = new Set(
      m[3]!
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t && t !== 'nothing'),
    );
    for (const name of m[2]!.split(',').map((n) => n.trim())) (m[1] ? packages : parts).set(name, targets);
  }
  return { parts, packages };
}

/** The part a source file belongs to: its folder under src/ (two levels deep where the rules name such a part). */
export function partOf(file: string, rules: ImportRules): string | undefined {
  const rel = path.posix.relative('src', file);
  if (rel.startsWith('..')) return undefined;
  const segments = rel.split('/');
  // A file directly under src/ is the part its name says (cli.ts), else one of the basics.
  const stem = rel.replace(/\.[jt]s$/, '');
  if (segments.length === 1) return rules.parts.has(stem) ? stem : 'basics';
  const nested = `${segments[0]}/${segments[1]}`;
  return rules.parts.has(nested) ? nested : segments[0];
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module specifier a file imports statically (or with a literal dynamic import). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function packageMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** Every import that crosses an arrow the rules do not draw. */
export function violations(files: readonly SourceFile[], rules: ImportRules): Violation[] {
  const found: Violation[] = [];
  for (const file of files) {
    const from = partOf(file.path, rules);
    if (!from) continue;
    if (!rules.parts.has(from)) {
      found.push({ file: file.path, specifier: '(none)', from, to: 'a part the rules do not name' });
      continue;
    }
    for (const specifier of importsOf(file.text)) {
      if (specifier.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), specifier));
        const to = partOf(target, rules);
        if (to && to !== from && !rules.parts.get(from)!.has(to))
          found.push({ file: file.path, specifier, from, to });
      } else if (!specifier.startsWith('node:')) {
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0]!;
        for (const [pattern, allowed] of rules.packages) {
          if (packageMatches(pattern, name) && !allowed.has(from))
            found.push({ file: file.path, specifier, from, to: name });
        }
      }
    }
  }
  return found;
}

/** The TypeScript sources under `dir` (relative to `root`). */
export function readSources(root: string, dir = 'src'): SourceFile[] {
  const files: SourceFile[] = [];
  const visit = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) visit(child);
      else if (entry.name.endsWith('.ts'))
        files.push({ path: child, text: readFileSync(path.join(root, child), 'utf8') });
    }
  };
  visit(dir);
  return files;
}
