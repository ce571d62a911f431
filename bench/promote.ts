// Figures for /promote: GitHub requests per promotion, the rate-limit points spent while
// CI runs, and the delay from CI completion to the approval prompt, with webhooks and with
// polling alone. Points are the GitHub stand-in's own accounting (its request log says which
// requests it charged: all but a 304 to a conditional request, as GitHub counts; a GraphQL
// query costs one point, as GitHub counts a query of its size).
// BENCH_PROMOTE_ROUTES=1 prints the requests of each promotion.
import pg from 'pg';
import { admin, createPromotionWorld, isPrompt } from '../tests/helpers/promotion-world.js';
import type { TestDatabase } from '../tests/helpers/services.js';
import { record } from './figures.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_PROMOTE_RUNS ?? 3);
/** How long CI runs before the benchmark completes it: longer than a poll interval. */
const CI_MS = 6_000;
const POLL_SECONDS = 5;
const ROUTES = process.env.BENCH_PROMOTE_ROUTES === '1';

/** A database of its own on the benchmark's Postgres, dropped by `drop`. */
export async function createBenchDatabase(databaseUrl: string, label: string): Promise<TestDatabase> {
  const name = `bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}_${label}`;
  const adminClient = new pg.Client(databaseUrl);
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  await adminClient.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client(databaseUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function onePromotion(webhooks: boolean, databaseUrl: string, redisUrl: string) {
  const createDatabase = (label: string) => createBenchDatabase(databaseUrl, label);
  const world = await createPromotionWorld({
    webhooks,
    // The check never finishes by itself: the benchmark completes it, and starts the clock.
    checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 3_600_000 }],
    env: { PROMOTE_POLL_SECONDS: String(POLL_SECONDS) },
    services: { createDatabase, redisUrl },
  });
  try {
    const before = world.gh.requests().length;
    const sent = world.say(admin, '/promote');
    await world.waitFor(
      admin.id,
      (m) => m.message_id > sent.message_id && (m.text ?? '').includes('build — '),
    );
    const ciRunning = world.gh.requests().length;
    await new Promise((resolve) => setTimeout(resolve, CI_MS));
    const whileCi = world.gh
      .requests()
      .slice(ciRunning)
      .filter((r) => !r.path.includes('/deployments?environment=staging'));
    const t0 = performance.now();
    await world.gh.completeCheck(world.seeded.developSha, 'build', 'success');
    const prompt = await world.waitFor(admin.id, (m) => isPrompt(m), 60_000);
    const promptMs = performance.now() - t0;
    world.press(admin.id, prompt, 'Yes', admin);
    await world.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
    // The staging instance's deployment watcher polls on its own, promotion or not: not counted.
    const watcher = (r: { path: string }) => r.path.includes('/deployments?environment=staging');
    const all = world.gh.requests().slice(before);
    const requests = all.filter((r) => !watcher(r));
    if (ROUTES) {
      console.log(`    ${webhooks ? 'webhooks' : 'polling'}: ${requests.length} requests`);
      for (const r of requests)
        console.log(`      ${r.status} ${r.charged ? '$' : ' '} ${r.method} ${r.path}`);
    }
    return {
      promptMs,
      total: requests.length,
      notModified: requests.filter((r) => r.status === 304).length,
      // A GraphQL query is a POST that changes nothing.
      mutating: requests.filter((r) => r.method !== 'GET' && r.path !== '/graphql').length,
      routes: requests.map((r) => `${r.method} ${routeName(r.path)}`),
      points: requests.filter((r) => r.charged).length,
      watcher: all.length - requests.length,
      ciRequests: whileCi.length,
      ciPoints: whileCi.filter((r) => r.charged).length,
    };
  } finally {
    await world.close();
  }
}

/** A request's path without the owner/repo prefix, the SHA or the query: what it is. */
function routeName(path: string): string {
  return path
    .replace(/^\/repos\/[^/]+\/[^/]+/, '')
    .replace(/\?.*$/, '')
    .replace(/[0-9a-f]{40}/g, '{sha}');
}

/** Runs both modes RUNS times and prints the medians. */
export async function benchPromotion(databaseUrl: string, redisUrl: string): Promise<void> {
  console.log(
    `/promote (Telegram and GitHub stand-ins; CI runs ${CI_MS / 1000} s; reconciling poll every ${POLL_SECONDS} s)`,
  );
  for (const webhooks of [true, false]) {
    const runs: Awaited<ReturnType<typeof onePromotion>>[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await onePromotion(webhooks, databaseUrl, redisUrl));
    const m = (key: Exclude<keyof (typeof runs)[number], 'routes'>) => median(runs.map((r) => r[key]));
    const mode = webhooks ? 'webhooks' : 'polling';
    const goal = webhooks ? { max: 8 } : undefined;
    record({
      key: `promote.${mode}.requests`,
      label: `GitHub requests per promotion, ${mode}`,
      value: m('total'),
      unit: 'requests',
      ...(goal ? { goal } : {}),
      note: `median of ${RUNS}; 304s ${m('notModified')}, mutating ${m('mutating')}, points ${m('points')}; not counted: ${m('watcher')} of staging's deployment watcher${webhooks ? `; the first run's: ${runs[0]!.routes.join(', ')}` : ''}`,
    });
    record({
      key: `promote.${mode}.ci-points`,
      label: `rate-limit points while CI runs, ${mode}`,
      value: m('ciPoints'),
      unit: 'points',
      ...(webhooks ? { goal: { max: 0 } } : {}),
      note: `${CI_MS / 1000} s of CI, ${m('ciRequests')} requests in it`,
    });
    record({
      key: `promote.${mode}.prompt`,
      label: `CI done → approval prompt, ${mode}`,
      value: m('promptMs'),
      unit: 'ms',
      note: `median of ${RUNS}`,
    });
  }
}
