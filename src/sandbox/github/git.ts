import { execFile } from 'node:child_process';

/** A git command that exited non-zero; `code` lets callers tell "conflict" (1) from a real failure. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim() || stdout.trim()}`);
    this.name = 'GitCommandError';
  }
}

export interface GitRunOptions {
  readonly input?: string | Buffer;
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers rather than failures (merge-tree says 1 for "conflicts"). */
  readonly okCodes?: readonly number[];
}

export interface GitResult {
  readonly stdout: string;
  readonly code: number;
}

// The user's own git configuration (signing, hooks, aliases) must not change what the stand-in does.
const hermeticEnv = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  LC_ALL: 'C',
};

/** Runs the real git binary in `dir` (no shell) and returns its stdout. */
export function runGit(
  dir: string,
  args: readonly string[],
  options: GitRunOptions = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-C', dir, ...args],
      {
        env: { ...process.env, ...hermeticEnv, ...options.env },
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (code === 0 || (code !== null && options.okCodes?.includes(code))) {
          resolve({ stdout, code });
          return;
        }
        reject(new GitCommandError(args, code, stdout, stderr));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like runGit, for commands whose output is all that matters. */
export async function git(
  dir: string,
  args: readonly string[],
  options: GitRunOptions = {},
): Promise<string> {
  return (await runGit(dir, args, options)).stdout;
}

/** Like git, for output that must stay bytes (a file's content). */
export function gitBytes(dir: string, args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-C', dir, ...args],
      { env: { ...process.env, ...hermeticEnv }, maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' },
      (error, stdout, stderr) => {
        if (!error) resolve(stdout);
        else
          reject(
            new GitCommandError(
              args,
              typeof error.code === 'number' ? error.code : null,
              stdout.toString('utf8'),
              stderr.toString('utf8'),
            ),
          );
      },
    );
  });
}
