import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';
import { freePort } from './free-port.js';
import { type GitHubStandIn, seedSandboxRepository, startGitHubStandIn } from './github/index.js';
import { type LocalRedis, startLocalRedis } from './redis-server.js';
import { startTelegramStandIn, type TelegramStandIn } from './telegram/index.js';

export interface SandboxUserInfo {
  readonly id: number;
  readonly first_name: string;
  readonly username: string;
}

export interface SandboxBot {
  readonly token: string;
  readonly username: string;
  readonly displayName: string;
}

export interface SandboxServicesOptions {
  /** Where databases on disk, LUGH_HOMEs and the repository live. */
  readonly dir: string;
  readonly telegramPort?: number;
  /** Real databases to use instead of the embedded ones. */
  readonly databaseUrls?: { readonly staging?: string; readonly production?: string };
  /** A running Redis to use instead of starting redis-server. */
  readonly redisUrl?: string;
  /** A git repository for the GitHub stand-in; a seeded one is made under `dir` otherwise. */
  readonly repoDir?: string;
}

export interface SandboxServices {
  readonly telegram: TelegramStandIn;
  readonly github: GitHubStandIn;
  readonly githubToken: string;
  readonly githubWebhookSecret: string;
  readonly repoDir: string;
  /** HTTP ports chosen for the two instances (GitHub's webhooks go to staging's). */
  readonly ports: { readonly staging: number; readonly production: number };
  readonly databaseUrls: { readonly staging: string; readonly production: string };
  readonly redisUrl: string;
  readonly bots: { readonly staging: SandboxBot; readonly production: SandboxBot };
  readonly users: { readonly admin: SandboxUserInfo; readonly stranger: SandboxUserInfo };
  readonly docker: { readonly reachable: boolean; readonly detail: string };
  readonly homes: { readonly staging: string; readonly production: string };
  /** Stops everything this call started, in reverse order. */
  stop(): Promise<void>;
}

/** A GitHub token of the usual shape, made up for this run; the GitHub stand-in accepts only it. */
export function fakeGitHubToken(): string {
  return `ghs_${randomBytes(18).toString('hex')}`;
}

/** A token of the shape @BotFather issues, made up for this run. */
export function fakeBotToken(): string {
  return `${randomInt(100_000_000, 999_999_999)}:AA${randomBytes(24).toString('base64url').slice(0, 33)}`;
}

async function dockerStatus(): Promise<{ reachable: boolean; detail: string }> {
  const docker = new Docker();
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2_000)),
    ]);
    return { reachable: true, detail: 'reachable' };
  } catch (error) {
    const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    return {
      reachable: false,
      detail: `not reachable at ${where} (${error instanceof Error ? error.message : String(error)}): deploys need a Docker engine; everything else works`,
    };
  }
}

/** What to undo, in the order things were started; stopped in reverse. */
type Stops = Array<() => Promise<void>>;

/**
 * Starts what the two lugh instances of the sandbox talk to: the Telegram stand-in with
 * both bots, the GitHub stand-in over a seeded repository (develop ahead of main), Postgres (embedded PGlite, one per database, unless URLs are given) and Redis
 * (REDIS_URL, or a redis-server from PATH). It knows nothing of lugh itself.
 */
export async function startSandboxServices(options: SandboxServicesOptions): Promise<SandboxServices> {
  const stops: Stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const { telegram, bots, users } = await startTelegram(options, stops);
    const databaseUrls = {
      staging: options.databaseUrls?.staging ?? (await startDatabase(options, 'staging_lugh', stops)),
      production: options.databaseUrls?.production ?? (await startDatabase(options, 'prod_lugh', stops)),
    };
    const redisUrl = options.redisUrl || (await startRedis(stops));
    const ports = { staging: await freePort(), production: await freePort() };
    const github = await startGitHub(options, ports.staging, stops);
    const homes = {
      staging: path.join(options.dir, '.lugh-staging'),
      production: path.join(options.dir, '.lugh-prod'),
    };
    return {
      telegram,
      ...github,
      ports,
      databaseUrls,
      redisUrl,
      bots,
      users,
      docker: await dockerStatus(),
      homes,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Telegram stand-in with the staging and production bots, and the page's two users. */
async function startTelegram(options: SandboxServicesOptions, stops: Stops) {
  const admin = { id: 1001, first_name: 'Ada', username: 'ada' };
  const stranger = { id: 2002, first_name: 'Sam', username: 'sam' };
  const telegram = await startTelegramStandIn({
    port: options.telegramPort ?? 0,
    pageUsers: [
      { ...admin, label: 'admin' },
      { ...stranger, label: 'stranger' },
    ],
  });
  stops.push(() => telegram.close());
  const bots = {
    staging: { token: fakeBotToken(), username: 'LughDevBot', displayName: 'Lugh Dev' },
    production: { token: fakeBotToken(), username: 'LughBot', displayName: 'Lugh' },
  };
  for (const bot of Object.values(bots)) {
    telegram.registerBot({ token: bot.token, username: bot.username, firstName: bot.displayName });
  }
  return { telegram, bots, users: { admin, stranger } };
}

/** An embedded Postgres holding `databaseName`, on disk under `dir`; returns its URL. */
async function startDatabase(
  options: SandboxServicesOptions,
  databaseName: string,
  stops: Stops,
): Promise<string> {
  const dataDir = path.join(options.dir, 'postgres', databaseName);
  mkdirSync(dataDir, { recursive: true });
  const pg: EmbeddedPostgres = await startEmbeddedPostgres({ databaseName, dataDir });
  stops.push(() => pg.stop());
  return pg.url;
}

/** A redis-server from PATH; returns its URL. */
async function startRedis(stops: Stops): Promise<string> {
  const redis: LocalRedis = await startLocalRedis();
  stops.push(() => redis.stop());
  return redis.url;
}

/** The GitHub stand-in over the given (or a freshly seeded) repository, its webhooks going to staging. */
async function startGitHub(options: SandboxServicesOptions, stagingPort: number, stops: Stops) {
  const repoDir = options.repoDir ?? path.join(options.dir, 'repo.git');
  if (!options.repoDir) await seedSandboxRepository(repoDir, { serviceSet: true });
  const githubToken = fakeGitHubToken();
  const githubWebhookSecret = randomBytes(16).toString('hex');
  const github = await startGitHubStandIn({
    repoDir,
    token: githubToken,
    webhook: { url: `http://127.0.0.1:${stagingPort}/webhooks/github`, secret: githubWebhookSecret },
  });
  stops.push(() => github.close());
  // A CI that takes a few seconds, so the live CI message has something to show.
  await github.setDefaultCheckPlan([
    { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 3_000 },
    { name: 'test', kind: 'check_run', conclusion: 'success', afterMs: 6_000 },
    { name: 'ci/lint', kind: 'status', conclusion: 'success', afterMs: 2_000 },
  ]);
  return { github, githubToken, githubWebhookSecret, repoDir };
}
