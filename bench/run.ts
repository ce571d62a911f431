// npm run bench: figures for lugh's start-up, health endpoint, shutdown and idle cost, then
// lugh beside a bare grammY bot (bench/bot.ts), /status, /promote and the deploy engine
// (bench/status.ts, promote.ts, deploy.ts), requests to the app during a switch
// (bench/traffic.ts), a service set's build step (bench/set-build.ts), and a service set's
// deploy and rollback (bench/service-set.ts), and a preview environment's start and
// teardown (bench/previews.ts), and /delivery's SQL and chart (bench/delivery.ts).
// Starts its own throwaway Postgres and Redis (as the test suite does, or uses
// TEST_DATABASE_URL / TEST_REDIS_URL), the Telegram stand-in, and real `lugh start` processes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../src/sandbox/free-port.js';
import { startTelegramStandIn } from '../src/sandbox/telegram/index.js';
import setupServices from '../tests/helpers/global-setup.js';
import { FAKE_TOKEN, type LughProcess, spawnLugh } from '../tests/helpers/lugh-process.js';
import { benchAnonymise } from './anonymise.js';
import { benchBot } from './bot.js';
import { benchDelivery } from './delivery.js';
import { benchDeploys, benchSelfDeploy } from './deploy.js';
import { compareFigures, readResults, record, recordedFigures, writeResults } from './figures.js';
import { benchPreviews } from './previews.js';
import { benchPromotion, createBenchDatabase } from './promote.js';
import { benchRefresh } from './refresh.js';
import { benchServiceSet } from './service-set.js';
import { benchSetBuilds } from './set-build.js';
import { percentile } from './stats.js';
import { benchStatus } from './status.js';
import { benchSwarm } from './swarm.js';
import { benchTraffic } from './traffic.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** BENCH_ONLY=status (or a comma-separated list of sections): only those figures (all take minutes). */
const ONLY = process.env.BENCH_ONLY;
const HEALTH_REQUESTS = Number(process.env.BENCH_HEALTH_REQUESTS ?? 300);
const METRICS_REQUESTS = Number(process.env.BENCH_METRICS_REQUESTS ?? 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const CLOCK_TICKS = 100; // USER_HZ on Linux
const RESULTS = path.join(import.meta.dirname, 'results.json');

/** `--compare old.json`: the file an earlier run wrote, to print how each figure moved. */
function compareWith(): string | undefined {
  const at = process.argv.indexOf('--compare');
  if (at === -1) return undefined;
  const file = process.argv[at + 1];
  if (!file) throw new Error('--compare needs a file: npm run bench -- --compare old-results.json');
  // Read now, not after minutes of benchmarks: a wrong path or file is said before they run.
  readResults(file);
  return file;
}

async function waitHealthy(port: number, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`instance on :${port} never became healthy`);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function main() {
  const comparing = compareWith();
  const urls: Record<string, string> = {};
  const teardown = await setupServices({
    provide: (k: string, v: string) => (urls[k] = v),
  } as unknown as TestProject);
  const tg = await startTelegramStandIn();
  tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
  const db = await createBenchDatabase(urls.databaseUrl!, 'staging_lugh');
  const home = mkdtempSync(path.join(tmpdir(), 'lugh-bench-'));
  const env = (port: number) => ({
    APP_ENV: 'staging',
    TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    DATABASE_URL: db.url,
    REDIS_URL: urls.redisUrl!,
    REDIS_PREFIX: `staging:bench${Date.now()}`,
    LUGH_HOME: path.join(home, '.lugh-staging'),
    PORT: String(port),
    ADMIN_IDS: '1',
    LOG_LEVEL: 'warn',
  });

  const processes: LughProcess[] = [];
  const benchStart = async () => {
    const startup: number[] = [];
    const shutdown: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort();
      const t0 = performance.now();
      const lugh = spawnLugh(['start'], env(port), urls.lughCli);
      processes.push(lugh);
      await waitHealthy(port);
      startup.push(performance.now() - t0);
      const t1 = performance.now();
      lugh.child.kill('SIGTERM');
      await lugh.exited;
      shutdown.push(performance.now() - t1);
    }

    const port = await freePort();
    const lugh = spawnLugh(['start'], env(port), urls.lughCli);
    processes.push(lugh);
    await waitHealthy(port);
    const latencies: number[] = [];
    for (let i = 0; i < HEALTH_REQUESTS; i++) {
      const t = performance.now();
      await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.text());
      latencies.push(performance.now() - t);
    }
    // RSS before any scrape: what an instance nobody monitors holds (a scrape loads BullMQ).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssUnscraped = rssMiB(lugh.child.pid!);
    // A Prometheus scrape: every metric, the queue, outbox and lock gauges read from Redis and Postgres.
    const scrapes: number[] = [];
    for (let i = 0; i < METRICS_REQUESTS; i++) {
      const t = performance.now();
      await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      scrapes.push(performance.now() - t);
    }

    // Let start-up work settle, then measure a long-polling instance doing nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const pid = lugh.child.pid!;
    const cpu0 = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleCpu = (cpuSeconds(pid) - cpu0) / IDLE_SECONDS;
    const rss = rssMiB(pid);
    lugh.child.kill('SIGTERM');
    await lugh.exited;

    console.log('lugh start (bundled as the image runs it, staging, long polling the Telegram stand-in)');
    const runs = `${RUNS} runs, max ${Math.max(...startup).toFixed(0)} ms`;
    record({
      key: 'start.healthz',
      label: 'spawn → /healthz 200, median',
      value: percentile(startup, 50),
      unit: 'ms',
      note: runs,
    });
    record({
      key: 'stop',
      label: 'SIGTERM → exit, median',
      value: percentile(shutdown, 50),
      unit: 'ms',
      note: `${RUNS} runs`,
    });
    record({ key: 'healthz.p50', label: 'GET /healthz, p50', value: percentile(latencies, 50), unit: 'ms' });
    record({
      key: 'healthz.p95',
      label: 'GET /healthz, p95',
      value: percentile(latencies, 95),
      unit: 'ms',
      note: `${HEALTH_REQUESTS} sequential`,
    });
    record({ key: 'metrics.p50', label: 'GET /metrics, p50', value: percentile(scrapes, 50), unit: 'ms' });
    record({
      key: 'metrics.p95',
      label: 'GET /metrics, p95',
      value: percentile(scrapes, 95),
      unit: 'ms',
      note: `${METRICS_REQUESTS} sequential (the first loads BullMQ for the queue gauge)`,
    });
    record({
      key: 'idle.cpu',
      label: 'idle long polling, CPU',
      value: idleCpu * 100,
      unit: '%',
      note: `of a core over ${IDLE_SECONDS} s`,
    });
    record({
      key: 'idle.rss.unscraped',
      label: 'idle long polling, RSS, never scraped',
      value: rssUnscraped,
      unit: 'MiB',
      note: 'before the first /metrics scrape',
    });
    record({
      key: 'idle.rss',
      label: 'idle long polling, RSS, after /metrics',
      value: rss,
      unit: 'MiB',
      note: 'the queue gauges have loaded BullMQ',
    });
  };

  // Each section on its own (BENCH_ONLY=status,deploy runs those two).
  const sections: Record<string, () => Promise<void>> = {
    start: benchStart,
    bot: () => benchBot(urls.databaseUrl!, urls.redisUrl!),
    status: () => benchStatus(urls.databaseUrl!, urls.redisUrl!),
    promote: () => benchPromotion(urls.databaseUrl!, urls.redisUrl!),
    deploy: () => benchDeploys(urls.databaseUrl!, urls.redisUrl!),
    traffic: () => benchTraffic(urls.databaseUrl!),
    'set-build': () => benchSetBuilds(urls.databaseUrl!),
    // A service set (app ×2, web, worker): its deploy, requests during the roll, its rollback.
    'service-set': () => benchServiceSet(urls.databaseUrl!),
    // The self-deploy alone (deploy runs it too, unless BENCH_SELF_DEPLOY=0).
    'self-deploy': () => benchSelfDeploy(urls.databaseUrl!, urls.redisUrl!),
    // The Swarm runtime: a self-deploy (time, update gap, failed /healthz) and Swarm's rollback.
    swarm: () => benchSwarm(urls.databaseUrl!, urls.redisUrl!),
    // A preview per pull request: opened webhook → healthy through Caddy, closed → all gone.
    previews: () => benchPreviews(urls.databaseUrl!, urls.redisUrl!),
    // /delivery's SQL and chart over two years of production deploys.
    delivery: () => benchDelivery(urls.databaseUrl!),
    // The anonymiser on a copy of 100,000 customers and orders: the rewrite, then the scan.
    anonymise: () => benchAnonymise(urls.databaseUrl!),
    // /refresh staging on 50,000 customers and orders: production's half, then staging's.
    refresh: () => benchRefresh(urls.databaseUrl!),
  };
  // Without BENCH_ONLY every section runs once: the self-deploy as part of deploy.
  const chosen = ONLY ? ONLY.split(',') : Object.keys(sections).filter((name) => name !== 'self-deploy');
  const unknown = chosen.filter((name) => !(name in sections));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY names no section ${unknown.join(', ')}: choose from ${Object.keys(sections).join(', ')}`,
    );
  }
  try {
    for (const name of chosen) {
      // The machine may be shared: each section says how busy it was when it began.
      const [one, five] = loadavg();
      console.log(
        `[${name}] load average ${one!.toFixed(1)} (1 min), ${five!.toFixed(1)} (5 min) on ${cpus().length} cores`,
      );
      await sections[name]!();
    }
    writeResults(RESULTS);
    console.log(`figures written to ${path.relative(process.cwd(), RESULTS)}`);
    if (comparing) {
      console.log(`change since ${comparing}:`);
      for (const line of compareFigures(readResults(comparing), recordedFigures())) console.log(line);
    }
  } finally {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await tg.close();
    await db.drop();
    await teardown();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
