// The bot's own speed beside a bare grammY bot (bench/bare-bot.ts): both long poll one
// Telegram stand-in, in interleaved rounds (lugh first, then bare, then the other way
// round), and each figure is the median of the rounds' values. Handling time is the same
// for both: the stand-in's time from the getUpdates answer that delivered a /help to the
// sendMessage that answers it (its `onCall` hook). CPU per /help is the process's user +
// system time (/proc/<pid>/stat) over the 50 msg/s burst divided by the messages; start-up
// is spawn → the first /help (queued before the spawn) answered, on a migrated database;
// idle CPU and RSS are taken in the 3 s after that first answer (RSS beside a node process
// that loads the same libraries, bench/idle-libraries.ts, and does nothing).
// All three run as production runs lugh (Dockerfile: `node dist/cli.js start`, with the
// image's NODE_OPTIONS): lugh bundled as the image's build does, the references compiled with
// tsc, all in .lugh-bench-dist/ and run by plain node, not under tsx's loader.
// BENCH_BOT_LUGH_DIST=<dir> runs the lugh built there instead (an older build, to compare).
// BENCH_BOT_NODE_ARGS="--cpu-prof --cpu-prof-dir=<dir>" profiles lugh and the bare bot (node's
// own flags, split on spaces, given to both so that their profiles compare; each profile is
// written when its process exits on the bench's SIGTERM, named with the pid the bench prints).
// BENCH_BOT_CALLS=1 prints the Bot API calls each bot made during its burst, by method.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundle } from '../deploy/bundle.js';
import { freePort } from '../src/sandbox/free-port.js';
import { type CallEvent, startTelegramStandIn } from '../src/sandbox/telegram/index.js';
import { FAKE_TOKEN, REPO_ROOT, runLugh } from '../tests/helpers/lugh-process.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';
import { median, percentile } from './stats.js';

const ROUNDS = Number(process.env.BENCH_BOT_ROUNDS ?? 3);
const SERIAL = Number(process.env.BENCH_BOT_SERIAL ?? 200);
const WARMUP = 50;
const BURST_SECONDS = Number(process.env.BENCH_BOT_BURST_SECONDS ?? 6);
const RATE = 50;
const USERS = 50;
const FIRST_USER = 5_000;
const BARE_TOKEN = '7007001:AABareGrammyBenchToken_abcdefghijk';
const CLOCK_TICKS = 100; // USER_HZ on Linux
const NODE_ARGS = (process.env.BENCH_BOT_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The NODE_OPTIONS the image runs lugh with (Dockerfile's runtime ENV), given to all three processes. */
const NODE_OPTIONS = /NODE_OPTIONS=(\S+)/.exec(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1];
const nodeEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}) };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
};
const rssMiB = (pid: number) =>
  Number(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'))!
      .split(/\s+/)[1],
  ) / 1024;

interface RoundFigures {
  startupMs: number;
  serialP50: number;
  burstP95: number;
  cpuPerHelpMs: number;
  /** CPU ms per second while idle, just after start-up (in the burst's figure too). */
  idleCpuMsPerS: number;
  rssMiB: number;
}

/** Which /help of which chat was delivered when, and the handling times of the answers. */
class Handling {
  private readonly delivered = new Map<string, number[]>();
  private readonly waiters = new Map<string, Array<(at: number) => void>>();
  samples: number[] = [];
  /** The first answer's parameters: the text the bare bot is given. */
  firstText: string | undefined;

  /** Bot API calls received per bot and method since the last `take()`. */
  calls = new Map<string, number>();

  observe = (event: CallEvent): void => {
    if (event.phase === 'received') {
      const key = `${event.botId} ${event.method}`;
      this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    }
    if (event.method === 'getUpdates' && event.phase === 'answered' && Array.isArray(event.data)) {
      for (const update of event.data as Array<{ message?: { chat?: { id?: number } } }>) {
        const chat = update.message?.chat?.id;
        if (chat === undefined) continue;
        const key = `${event.botId}:${chat}`;
        this.delivered.set(key, [...(this.delivered.get(key) ?? []), event.at]);
      }
    }
    if (event.method === 'sendMessage' && event.phase === 'received') {
      const params = event.data as { chat_id?: unknown; text?: string };
      const key = `${event.botId}:${Number(params.chat_id)}`;
      const from = this.delivered.get(key)?.shift();
      if (from === undefined) return; // not an answer to a /help of ours (a notification…)
      this.samples.push(event.at - from);
      this.firstText ??= params.text;
      const waiter = this.waiters.get(key)?.shift();
      waiter?.(event.at);
    }
  };

  /** Resolves with the stand-in's time of the next answer in this chat. */
  answered(botId: number, chat: number, timeoutMs = 30_000): Promise<number> {
    const key = `${botId}:${chat}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer in chat ${chat} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.set(key, [
        ...(this.waiters.get(key) ?? []),
        (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      ]);
    });
  }

  take(): number[] {
    const taken = this.samples;
    this.samples = [];
    this.calls = new Map();
    return taken;
  }
}

/**
 * Bundles lugh as its image does (deploy/bundle.ts) and compiles the two reference scripts
 * with tsc into .lugh-bench-dist/ (untracked, like every .lugh-*), one level under the
 * repository so that migrations/ and node_modules are found from there as from dist/.
 */
async function build(): Promise<{ cli: string; bareBot: string; idleLibraries: string }> {
  const out = path.join(REPO_ROOT, '.lugh-bench-dist');
  const lugh = process.env.BENCH_BOT_LUGH_DIST;
  const cli = lugh ? path.join(path.resolve(lugh), 'cli.js') : await bundle(out);
  if (!existsSync(cli))
    throw new Error(
      `BENCH_BOT_LUGH_DIST=${lugh}: there is no cli.js there (give the folder of a build, e.g. a copy of dist/)`,
    );
  execFileSync(
    path.join(REPO_ROOT, 'node_modules/.bin/tsc'),
    [
      ...['bench/bare-bot.ts', 'bench/idle-libraries.ts'],
      ...['--outDir', path.join(out, 'bench'), '--module', 'nodenext', '--target', 'es2022'],
      ...['--skipLibCheck', '--strict', '--ignoreConfig'],
    ],
    { cwd: REPO_ROOT },
  );
  return {
    cli,
    bareBot: path.join(out, 'bench/bare-bot.js'),
    idleLibraries: path.join(out, 'bench/idle-libraries.js'),
  };
}

/** Runs the `bot` section: lugh beside a bare grammY bot. */
export async function benchBot(databaseUrl: string, redisUrl: string): Promise<void> {
  const built = await build();
  const handling = new Handling();
  const tg = await startTelegramStandIn({ onCall: handling.observe });
  tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
  tg.registerBot({ token: BARE_TOKEN, username: 'BareGrammyBot', firstName: 'Bare' });
  const db = await createBenchDatabase(databaseUrl, 'staging_lugh');
  const home = mkdtempSync(path.join(tmpdir(), 'lugh-bench-bot-'));
  const children: ChildProcess[] = [];
  const lughEnv = (port: number) => ({
    APP_ENV: 'staging',
    TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `staging:benchbot${Date.now()}`,
    LUGH_HOME: path.join(home, '.lugh-staging'),
    PORT: String(port),
    ADMIN_IDS: '1',
    LOG_LEVEL: 'warn',
    // Baked into every image lugh builds (a build argument): without it lugh asks `git
    // rev-parse` at start, a child process production never spawns.
    GIT_SHA: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT }).toString().trim(),
  });
  const env0 = lughEnv(await freePort());
  const migrated = await runLugh(['migrate'], env0);
  if (migrated.code !== 0) throw new Error(`lugh migrate failed: ${migrated.stderr}`);

  const user = (i: number) => ({ id: FIRST_USER + (i % USERS), first_name: `User${i % USERS}` });
  const send = (token: string, i: number) => {
    const from = user(i);
    tg.sendText({ token, chat: { id: from.id, type: 'private' }, from, text: '/help' });
  };

  /** One round of one bot: start-up, idle RSS, /help one at a time, then at 50 msg/s. */
  const round = async (name: 'lugh' | 'bare'): Promise<RoundFigures> => {
    const token = name === 'lugh' ? FAKE_TOKEN : BARE_TOKEN;
    const botId = Number(token.split(':')[0]);
    handling.take();
    // Start-up: the /help waits in the queue before the process exists.
    const firstAnswer = handling.answered(botId, user(0).id, 60_000);
    send(token, 0);
    const t0 = performance.now();
    const port = await freePort();
    const child =
      name === 'lugh'
        ? spawn(process.execPath, [...NODE_ARGS, built.cli, 'start'], {
            cwd: REPO_ROOT,
            env: { ...nodeEnv, ...env0, PORT: String(port) },
            stdio: ['ignore', 'ignore', 'inherit'],
          })
        : spawn(process.execPath, [...NODE_ARGS, built.bareBot], {
            cwd: REPO_ROOT,
            env: {
              ...nodeEnv,
              BARE_BOT_TOKEN: BARE_TOKEN,
              TELEGRAM_API_ROOT: tg.apiRoot,
              BARE_HELP_TEXT: helpText,
            },
            stdio: ['ignore', 'ignore', 'inherit'],
          });
    children.push(child);
    if (NODE_ARGS.length > 0) console.log(`${name}: pid ${child.pid}, node ${NODE_ARGS.join(' ')}`);
    const startupMs = (await firstAnswer) - t0;
    if (name === 'lugh') helpText ??= handling.firstText;
    await sleep(1_000);
    // Idle: what the burst's CPU would hold without any /help (timers, samplers, polls).
    const idle0 = cpuMs(child.pid!);
    await sleep(2_000);
    const idleMsPerS = (cpuMs(child.pid!) - idle0) / 2;
    const rss = rssMiB(child.pid!);

    // One at a time: the next /help only once the last one was answered.
    handling.take();
    for (let i = 0; i < WARMUP + SERIAL; i++) {
      const answered = handling.answered(botId, user(i).id);
      send(token, i);
      await answered;
      await sleep(5);
    }
    const serial = handling.take().slice(WARMUP);

    // 50 msg/s, each chat writing once a second.
    await sleep(500);
    const total = BURST_SECONDS * RATE;
    const answers: Promise<number>[] = [];
    const cpu0 = cpuMs(child.pid!);
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      answers.push(handling.answered(botId, user(i).id));
      send(token, i);
    }
    await Promise.all(answers);
    const cpu = cpuMs(child.pid!) - cpu0;
    if (process.env.BENCH_BOT_CALLS) console.log(name, Object.fromEntries(handling.calls));
    const burst = handling.take();

    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    return {
      startupMs,
      serialP50: percentile(serial, 50),
      burstP95: percentile(burst, 95),
      cpuPerHelpMs: cpu / total,
      idleCpuMsPerS: idleMsPerS,
      rssMiB: rss,
    };
  };

  /** RSS of a process that loads lugh's libraries and idles, 3 s after it says so. */
  const librariesRss = async (): Promise<number> => {
    const child = spawn(process.execPath, [built.idleLibraries], {
      cwd: REPO_ROOT,
      env: nodeEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    await sleep(3_000);
    const rss = rssMiB(child.pid!);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    return rss;
  };

  let helpText: string | undefined;
  const lugh: RoundFigures[] = [];
  const bare: RoundFigures[] = [];
  const libraries: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // lugh goes first in the first round: the bare bot answers with lugh's /help text.
      const order: Array<'lugh' | 'bare'> = r % 2 === 0 ? ['lugh', 'bare'] : ['bare', 'lugh'];
      for (const name of order) (name === 'lugh' ? lugh : bare).push(await round(name));
      libraries.push(await librariesRss());
    }
  } finally {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await tg.close();
    await db.drop();
  }

  const mid = (rounds: RoundFigures[], pick: (f: RoundFigures) => number) => median(rounds.map(pick));
  const rounds = `median of ${ROUNDS} interleaved rounds`;
  console.log(
    `lugh beside a bare grammY bot (lugh bundled as its image runs it, bare grammY compiled with tsc, both plain node: ${path.relative(REPO_ROOT, built.cli)}; long polling one Telegram stand-in)`,
  );
  record({
    key: 'bot.help.p50',
    label: '/help handling, p50 (one at a time)',
    value: mid(lugh, (f) => f.serialP50),
    unit: 'ms',
    reference: { label: 'bare grammY', value: mid(bare, (f) => f.serialP50) },
    goal: { ratio: 1.2 },
    note: `getUpdates answer → sendMessage, ${SERIAL} sequential; ${rounds}`,
  });
  record({
    key: 'bot.help.burst.p95',
    label: `/help at ${RATE} msg/s, p95`,
    value: mid(lugh, (f) => f.burstP95),
    unit: 'ms',
    reference: { label: 'bare grammY', value: mid(bare, (f) => f.burstP95) },
    goal: { ratio: 1.2 },
    note: `${BURST_SECONDS} s from ${USERS} chats; ${rounds}`,
  });
  record({
    key: 'bot.help.cpu',
    label: 'CPU busy per /help',
    value: mid(lugh, (f) => f.cpuPerHelpMs),
    unit: 'ms',
    reference: { label: 'bare grammY', value: mid(bare, (f) => f.cpuPerHelpMs) },
    goal: { ratio: 1.2 },
    note: `user + system over the burst ÷ ${BURST_SECONDS * RATE}, background work included (idle: lugh ${mid(lugh, (f) => f.idleCpuMsPerS).toFixed(1)}, bare ${mid(bare, (f) => f.idleCpuMsPerS).toFixed(1)} ms/s); ${rounds}`,
  });
  record({
    key: 'bot.startup.first-reply',
    label: 'start-up to first reply',
    value: mid(lugh, (f) => f.startupMs),
    unit: 'ms',
    reference: { label: 'bare grammY', value: mid(bare, (f) => f.startupMs) },
    goal: { max: 300 },
    note: `spawn of \`node dist/cli.js start\` (bundled as the image builds it, no tsx) → a queued /help answered, migrated database; bare grammY compiled with tsc; ${rounds}`,
  });
  record({
    key: 'bot.idle.rss',
    label: 'idle RSS',
    value: mid(lugh, (f) => f.rssMiB),
    unit: 'MiB',
    reference: { label: 'node with the same libraries', value: median(libraries) },
    goal: { ratio: 1.2 },
    note: `3 s after the first reply; bare grammY ${mid(bare, (f) => f.rssMiB).toFixed(1)} MiB; NODE_OPTIONS ${NODE_OPTIONS ?? 'none'}, as the image; ${rounds}`,
  });
}
