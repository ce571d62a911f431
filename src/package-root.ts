import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding lugh's package.json and migrations/, found upwards from this module:
 * the sources (src/app/…), a compiled tree and the bundle the image runs (every chunk
 * directly in dist/) put the code at different depths below it.
 */
export function packageRootFrom(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'migrations'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(
        `lugh's package root (a folder with package.json and migrations/) is not above ${start}: run lugh from its checkout or its image`,
      );
    }
  }
}

export const PACKAGE_ROOT = packageRootFrom(path.dirname(fileURLToPath(import.meta.url)));
