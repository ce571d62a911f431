// lugh runs bundled (deploy/bundle.ts): a stack names dist/chunk-*.js positions, which say
// nothing to whoever reads the log. The bundle ships each chunk's source map beside it; a
// stack is rewritten through them only when an error is logged or printed, so nothing is
// read at start (node's --enable-source-maps would read and parse every map as its chunk
// loads, on the way to the first reply).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A position in a .js file, as V8 writes it in a stack: path or file URL, line, column. */
const FRAME_POSITION = /((?:file:\/\/)?\/[^\s():]+\.m?js):(\d+):(\d+)/g;

/** Each file's map (null: it has none, or it is a dependency's file); read once per process. */
const maps = new Map<string, { readonly map: SourceMap; readonly dir: string } | null>();

function mapOf(file: string) {
  let entry = maps.get(file);
  if (entry !== undefined) return entry;
  entry = null;
  // Only lugh's own bundle: a dependency's map would point at sources its package lacks.
  if (!file.split(path.sep).includes('node_modules') && existsSync(`${file}.map`)) {
    try {
      entry = {
        map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))),
        dir: path.dirname(file),
      };
    } catch {
      entry = null;
    }
  }
  maps.set(file, entry);
  return entry;
}

/** Where `file`'s line and column (1-based, as in a stack) came from, as `src/…ts:line:col`; undefined when unknown. */
function originOf(file: string, line: number, column: number): string | undefined {
  const known = mapOf(file);
  if (!known) return undefined;
  const found = known.map.findEntry(line - 1, column - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (found.originalSource === undefined || found.originalLine === undefined) return undefined;
  const source = path.resolve(known.dir, found.originalSource);
  // The bundle's folder (dist/) is directly in the package: its sources show from there.
  const shown = path.relative(path.dirname(known.dir), source);
  return `${shown.startsWith('..') ? source : shown}:${found.originalLine + 1}:${(found.originalColumn ?? 0) + 1}`;
}

/**
 * `stack` with every position in lugh's bundled chunks replaced by the source position it
 * came from (`src/app/instance.ts:120:11`); node's own frames and dependencies' stay as they
 * are. Never throws: a position it cannot map is left as written.
 */
export function sourceMappedStack(stack: string): string {
  return stack.replace(FRAME_POSITION, (whole, location: string, line: string, column: string) => {
    try {
      const file = location.startsWith('file://') ? fileURLToPath(location) : location;
      return originOf(file, Number(line), Number(column)) ?? whole;
    } catch {
      return whole;
    }
  });
}
