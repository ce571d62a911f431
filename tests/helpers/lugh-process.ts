// Runs the lugh CLI as a child process, exactly as `lugh <command>` would run: in a test,
// bundled as the image runs it (the global setup bundles it once per run); from the sources
// through tsx for `lugh sandbox`, which the build leaves out, and outside vitest (the bench).
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

export function spawnLugh(args: readonly string[], env: Record<string, string | undefined>): LughProcess {
  const bundled = process.env.VITEST !== undefined && !args.includes('sandbox');
  const cli = bundled ? [inject('lughCli')] : ['--import', 'tsx', CLI];
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
