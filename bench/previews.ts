// Figures for preview environments (#18), on the sandbox's staging in this process
// (tests/helpers/sandbox-preview-world.ts): the real Docker engine, Caddy, Postgres and
// Redis, the GitHub stand-in's webhooks. Each run opens a pull request into develop (a
// branch off develop with one new file: the image's layers come from the cache, as for a
// small change), and closes it once its preview answers.
// - start: the `opened` webhook answered by staging → the preview's /healthz answers 200
//   through Caddy, with /version the head's commit;
// - teardown: the `closed` webhook answered → container, database, role and route all gone.
import { caddyOnPath } from '../src/sandbox/caddy-server.js';
import { createDockerClient, dockerAvailable, ensureBaseImage } from '../tests/helpers/docker.js';
import { type PreviewWorld, startPreviewWorld } from '../tests/helpers/sandbox-preview-world.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_PREVIEW_RUNS ?? 3);
/** A preview that is not up (or not gone) by then is a failure of the run, not a figure. */
const DEADLINE_MS = 180_000;
const seconds = (ms: number) => ms / 1000;

async function until(what: string, check: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline)
      throw new Error(`previews bench: ${what} not within ${DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function oneRun(world: PreviewWorld, run: number): Promise<{ startMs: number; teardownMs: number }> {
  const { pr, sha } = await world.openPull(`bench-preview-${run}-${Date.now()}`);
  await world.delivered();
  const opened = performance.now();
  const up = await until(`preview #${pr} healthy through Caddy`, async () => {
    const health = await world.get(pr, '/healthz');
    if (health.status !== 200) return false;
    const version = await world.get(pr, '/version');
    return version.status === 200 && version.body.includes(sha);
  });
  await world.closePull(pr);
  await world.delivered();
  const closed = performance.now();
  const gone = await until(`preview #${pr} torn down`, async () => {
    const parts = await world.parts(pr);
    return !parts.container && !parts.database && !parts.role && !parts.route;
  });
  return { startMs: up - opened, teardownMs: gone - closed };
}

export async function benchPreviews(databaseUrl: string, redisUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('previews: no Docker engine, skipped');
    return;
  }
  if (!(await caddyOnPath())) {
    console.log('previews: no caddy on PATH (apt-get install caddy), skipped');
    return;
  }
  const baseImage = await ensureBaseImage(docker);
  const staging = await createBenchDatabase(databaseUrl, 'staging_lugh');
  const production = await createBenchDatabase(databaseUrl, 'prod_lugh');
  const world = await startPreviewWorld({
    docker,
    baseImage,
    databaseUrls: { staging: staging.url, production: production.url },
    redisUrl,
  });
  const starts: number[] = [];
  const teardowns: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const { startMs, teardownMs } = await oneRun(world, run);
      starts.push(startMs);
      teardowns.push(teardownMs);
    }
  } finally {
    await world.stop();
    await staging.drop();
    await production.drop();
  }
  console.log(
    'previews (sandbox staging: Docker, Caddy, Postgres, Redis; the seeded app, a one-file change)',
  );
  const note = (values: number[]) => `${RUNS} runs: ${values.map((v) => seconds(v).toFixed(1)).join(', ')} s`;
  record({
    key: 'preview.start',
    label: 'opened webhook → preview healthy through Caddy, median',
    value: seconds(median(starts)),
    unit: 's',
    note: note(starts),
  });
  record({
    key: 'preview.teardown',
    label: 'closed webhook → container, database, role, route gone, median',
    value: seconds(median(teardowns)),
    unit: 's',
    note: note(teardowns),
  });
}
