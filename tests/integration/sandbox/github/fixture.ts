import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Octokit } from 'octokit';
import {
  type GitHubStandIn,
  type GitHubStandInOptions,
  seedSandboxRepository,
  startGitHubStandIn,
} from '../../../../src/sandbox/github/index.js';

const run = promisify(execFile);

export const TOKEN = 'ghs_sandboxtoken';
export const repoParams = { owner: 'acme', repo: 'app' } as const;

/** git itself, to check what the stand-in did to the repository. */
export async function gitIn(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', dir, ...args], {
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
  return stdout.trim();
}

/** Octokit as lugh builds it, with retries and throttling off so that every answer is seen as it is. */
export function octokitFor(gh: GitHubStandIn, token = TOKEN): Octokit {
  return new Octokit({
    baseUrl: gh.apiUrl,
    auth: token,
    retry: { enabled: false },
    throttle: { enabled: false },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
}

export interface Sandbox {
  readonly dir: string;
  readonly repoDir: string;
  readonly mainSha: string;
  readonly developSha: string;
  readonly gh: GitHubStandIn;
  readonly octokit: Octokit;
  close(): Promise<void>;
}

/** A seeded repository in a temp dir and a stand-in over it on a free port. */
export async function startSandbox(options: Omit<GitHubStandInOptions, 'repoDir'> = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'lugh-github-test-'));
  const repoDir = join(dir, 'app.git');
  const { mainSha, developSha } = await seedSandboxRepository(repoDir);
  const gh = await startGitHubStandIn({ repoDir, port: 0, ...options });
  return {
    dir,
    repoDir,
    mainSha,
    developSha,
    gh,
    octokit: octokitFor(gh),
    close: async () => {
      await gh.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ReceivedHook {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A webhook receiver that records every delivery and answers `status`. */
export async function startReceiver(status = 200): Promise<{
  url: string;
  received: ReceivedHook[];
  setStatus(next: number): void;
  close(): Promise<void>;
}> {
  const received: ReceivedHook[] = [];
  let answer = status;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/github`,
    received,
    setStatus: (next) => {
      answer = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls until `check` holds (the stand-in's CI and webhooks run on their own clocks). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
