import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { PACKAGE_ROOT } from '../package-root.js';

/** package.json's version, read once: /version and /whoami show it. */
export const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'),
).version;

/**
 * The commit this code was built from: GIT_SHA in an image, `git rev-parse` in a checkout
 * (run beside start-up, not holding the one thread while the first updates wait).
 */
export async function gitShaOf(config: Config): Promise<string | null> {
  if (config.build.gitSha) return config.build.gitSha;
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT }, (error, stdout) =>
      resolve(error ? null : stdout.toString().trim()),
    );
  });
}
