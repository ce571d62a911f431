// What `lugh start` loads before it takes updates: every module its static imports reach
// (docs/ARCHITECTURE.md, app/: "What no first reply needs is imported once updates are
// taken"). A module reached here is loaded, linked and run before the first getUpdates,
// so it costs every start; what only a later command needs is imported when it runs.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

// `import type`/`export type` are erased (verbatimModuleSyntax); any other import or
// re-export with `from`, and a bare `import '…'`, is loaded. `import(…)` is not matched.
const STATIC =
  /(?:^|\n)\s*(import|export)\s+(?!type\s)[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Each module `entry` reaches through static imports, with the chain that reaches it. */
function staticallyReached(entry: string): Map<string, readonly string[]> {
  const reached = new Map<string, readonly string[]>();
  const visit = (file: string, chain: readonly string[]) => {
    const rel = path.relative(ROOT, file);
    if (reached.has(rel)) return;
    reached.set(rel, [...chain, rel]);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC)) {
      const specifier = (m[2] ?? m[3])!;
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
        if (existsSync(target)) visit(target, [...chain, rel]);
      } else if (!specifier.startsWith('node:')) {
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0]!;
        if (!reached.has(name)) reached.set(name, [...chain, rel, name]);
      }
    }
  };
  visit(path.join(ROOT, entry), []);
  return reached;
}

describe('lugh start, before the first reply', () => {
  const reached = staticallyReached('src/commands/start.ts');

  it('reaches the bot, the stores and their libraries (the walk follows the imports)', () => {
    for (const needed of ['grammy', 'pg', 'ioredis', 'src/app/instance.ts', 'src/bot/create-bot.ts'])
      expect(reached.has(needed), needed).toBe(true);
  });

  it('loads nothing that only a later command or the background needs', () => {
    const later = [
      'bullmq', // the deploy queue and worker, started once updates are taken
      'dockerode', // the Docker client
      'octokit', // the GitHub client, on the first GitHub call
      'node-pg-migrate', // only for a database that is behind
      '@resvg/resvg-js', // the first chart
      'src/deployer/deploy-engine.ts',
      'src/doctor/audit.ts', // the first /doctor
      'src/store/migrate.ts',
    ];
    const loaded = later.filter((name) => reached.has(name)).map((name) => reached.get(name)!.join(' → '));
    expect(loaded).toEqual([]);
  });
});
