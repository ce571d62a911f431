// Figures for /promote: GitHub requests per promotion and the delay from CI completion
// to the approval prompt, with webhooks and with polling alone.
import pg from 'pg';
import { admin, createPromotionWorld, isPrompt } from '../tests/helpers/promotion-world.js';
import type { TestDatabase } from '../tests/helpers/services.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_PROMOTE_RUNS ?? 3);
/** How long CI runs before the benchmark completes it. */
const CI_MS = 3_000;
const POLL_SECONDS = 5;

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
    await new Promise((resolve) => setTimeout(resolve, CI_MS));
    const t0 = performance.now();
    await world.gh.completeCheck(world.seeded.developSha, 'build', 'success');
    const prompt = await world.waitFor(admin.id, (m) => isPrompt(m), 60_000);
    const promptMs = performance.now() - t0;
    world.press(admin.id, prompt, 'Yes', admin);
    await world.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
    const requests = world.gh.requests().slice(before);
    return {
      promptMs,
      total: requests.length,
      notModified: requests.filter((r) => r.status === 304).length,
      mutating: requests.filter((r) => r.method !== 'GET').length,
    };
  } finally {
    await world.close();
  }
}

/** Runs both modes RUNS times and prints the medians. */
export async function benchPromotion(databaseUrl: string, redisUrl: string): Promise<void> {
  console.log(
    `/promote (Telegram and GitHub stand-ins; CI runs ${CI_MS / 1000} s; reconciling poll every ${POLL_SECONDS} s)`,
  );
  for (const webhooks of [true, false]) {
    const runs: Awaited<ReturnType<typeof onePromotion>>[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await onePromotion(webhooks, databaseUrl, redisUrl));
    const m = (key: keyof (typeof runs)[number]) => median(runs.map((r) => r[key]));
    console.log(
      `  ${webhooks ? 'webhooks' : 'polling '}  GitHub requests per promotion ${m('total')} (304 Not Modified ${m('notModified')}, mutating ${m('mutating')}); CI done → prompt median ${m('promptMs').toFixed(0)} ms  (${RUNS} runs)`,
    );
  }
}
