// Runs the lugh CLI as a child process, exactly as `lugh <command>` would run: bundled as the
// image runs it, in a test (the global setup bundles it once per run) and in the bench (which
// passes the bundle its setup built); from the sources through tsx for `lugh sandbox`, which
// the build leaves out.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

import { PACKAGE_ROOT as REPO_ROOT } from '../../src/package-root.js';

export { REPO_ROOT };

const CLI = path.join(REPO_ROOT, 'src/cli.ts');

/** A syntactically valid token that no Telegram server ever issued. */
export const FAKE_TOKEN = '9876543:AAFakeTokenForLughTests_0123456789abcd';

export interface LughProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/**
 * Starts `lugh <args>`. `bundle`: the cli.js of a bundle to run (the bench passes the one
 * its setup built); by default the run's bundle under vitest, else the sources through tsx.
 */
export function spawnLugh(
  args: readonly string[],
  env: Record<string, string | undefined>,
  bundle?: string,
): LughProcess {
  const bundled =
    bundle ?? (process.env.VITEST !== undefined && !args.includes('sandbox') && inject('lughCli'));
  const cli = bundled ? [bundled] : ['--import', 'tsx', CLI];
  const child = spawn(process.execPath, [...cli, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs a command to completion. */
export async function runLugh(args: readonly string[], env: Record<string, string | undefined>) {
  const p = spawnLugh(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
