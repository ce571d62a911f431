// GET /metrics of a real instance, scraped over HTTP and parsed by Prometheus' own
// promtool: strict parse, no secret or unbounded label, Node's default metrics, and the
// counters moving when a Telegram update is handled and a deploy runs through the queue
// on the real Docker engine.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../../src/app/instance.js';
import { createConfig } from '../../../src/config/index.js';
import { countDeployEnded, deployCountClaim } from '../../../src/deployer/deploy-metrics.js';
import { createDeployQueue, enqueueDeploy } from '../../../src/deployer/queue.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import {
  ensureBaseImage,
  removeTestResources,
  testDocker,
  uniqueName,
  waitFor,
} from '../../helpers/docker.js';
import { ADMIN_ID, instanceEnv } from '../../helpers/instance-env.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { FAKE_TOKEN } from '../../helpers/lugh-process.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const run = promisify(execFile);
const { docker, engine } = await testDocker();
const has = (command: string) =>
  run(command, ['--version']).then(
    () => true,
    () => false,
  );
const promtool = await has('promtool');
const prometheus = await has('prometheus');

/** A port free on the loopback now. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
const GH_TOKEN = 'ghs_metricsTestToken0123456789';
const METRICS_TOKEN = `metrics-${randomUUID()}`;

/** Every sample line as name, labels and value (the text format; promtool checks it strictly). */
function samples(body: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return body
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]!] = l[2]!;
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The one sample of `name` whose labels include `labels` (0 when none). */
function sampleValue(body: string, name: string, labels: Record<string, string> = {}): number {
  const found = samples(body).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

describe.skipIf(!engine)('GET /metrics of a real instance (needs a Docker engine)', () => {
  const repository = uniqueName('lugh-test-metrics');
  const name = uniqueName('lugh-test-metrics-staging-app');
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  let seeded: { mainSha: string; developSha: string };
  let db: TestDatabase;
  let pool: Pool;
  let redis: Redis;
  let instance: Instance;
  let prefix: string;

  const scrape = async (token: string | null = METRICS_TOKEN) =>
    fetch(`http://127.0.0.1:${instance.port}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const body = async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    let forge: Awaited<ReturnType<typeof startSeededGitHub>>['forge'];
    ({ gh, forge, seeded } = await startSeededGitHub(GH_TOKEN));
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    // What runs now: a container of main's commit, built as the deploy builds.
    const { createImageBuilder } = await import('../../../src/deployer/image-builder.js');
    const v1 = await createImageBuilder({ docker, logger, repository }).ensure({
      env: 'staging',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    const container = await docker.createContainer({
      name,
      Image: v1.tag,
      Env: ['APP_ENV=staging'],
      Labels: { 'lugh.test': repository },
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
    });
    await container.start();
    const env = instanceEnv({
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      extra: {
        GITHUB_TOKEN: GH_TOKEN,
        GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
        GITHUB_API_URL: gh.apiUrl,
        DEPLOY_CONTAINER: name,
        DEPLOY_BASE_IMAGE: baseImage,
        DEPLOY_IMAGE_REPOSITORY: repository,
        DEPLOY_HEALTH_SECONDS: '30',
        DEPLOY_VERIFY_SECONDS: '2',
        METRICS_TOKEN,
      },
    });
    prefix = env.REDIS_PREFIX!;
    instance = await startInstance(createConfig(env), logger, { docker, resilientGitHub: false });
    await waitFor('the bot to poll', async () => instance.telegram.status().state === 'ok', 20_000);
    pool = createPool(db.url, 'metrics-test');
    redis = createRedis(redisUrl(), { connectionName: 'metrics-test' });
  }, 600_000);

  afterAll(async () => {
    await instance?.stop();
    await removeTestResources(docker, repository);
    await redis?.quit();
    await pool?.end();
    await db?.drop();
    await tg?.close();
    await gh?.close();
  });

  it('answers only the bearer of METRICS_TOKEN, and says what to send', async () => {
    const none = await scrape(null);
    expect(none.status).toBe(401);
    expect(await none.text()).toContain('Authorization: Bearer');
    expect((await scrape('wrong-token-of-any-length')).status).toBe(401);
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it.skipIf(!promtool)(
    "passes promtool's strict parse; only prom-client's own gauges draw lint notes",
    async () => {
      const text = await body();
      expect(samples(text).length).toBeGreaterThan(50);
      const checked = await new Promise<{ code: number; out: string }>((resolve) => {
        const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, out: `${stdout}${stderr}` }),
        );
        child.stdin?.end(text);
      });
      // Exit 1 is a parse error; 3 lint notes. A lint note on a metric of lugh's own fails.
      expect(checked.out).not.toContain('error while linting');
      const notes = checked.out.split('\n').filter(Boolean);
      expect(notes.filter((n) => !/^nodejs_active_(handles|requests|resources)_total /.test(n))).toEqual([]);
      expect([0, 3]).toContain(checked.code);
    },
  );

  it("has Node's default metrics and every lugh metric, with no secret or unbounded label", async () => {
    const text = await body();
    const names = new Set(samples(text).map((s) => s.name));
    for (const n of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ])
      expect(names).toContain(n);
    for (const n of [
      'lugh_notifications_outbox_backlog',
      'lugh_locks_held',
      'lugh_github_rate_limit_remaining',
    ])
      expect(names).toContain(n);
    expect(text).toContain('# TYPE lugh_deploy_duration_seconds histogram');
    expect(text).toContain('# TYPE lugh_queue_jobs gauge');
    const secrets = [METRICS_TOKEN, GH_TOKEN, FAKE_TOKEN, db.url, String(ADMIN_ID), seeded.mainSha];
    const values = new Map<string, Set<string>>();
    for (const s of samples(text)) {
      for (const [label, value] of Object.entries(s.labels)) {
        if (!values.has(label)) values.set(label, new Set());
        values.get(label)!.add(value);
        if (label === 'le') continue; // the histograms' bucket bounds
        expect(value, `${s.name}{${label}}`).not.toMatch(/[0-9a-f]{12,}/); // a SHA, short or long
        expect(value, `${s.name}{${label}}`).not.toMatch(/^\d{4,}/); // an id of a user or chat
        expect(value, `${s.name}{${label}}`).not.toMatch(/:\/\/|@|:[A-Za-z0-9_-]{20,}|gh[pousr]_/); // a URL, token
        for (const secret of secrets) expect(value).not.toContain(secret);
      }
    }
    // Bounded: no label has more than a handful of values (le: the histograms' buckets).
    for (const [label, set] of values) if (label !== 'le') expect(set.size, label).toBeLessThanOrEqual(20);
  });

  it('counts a Telegram update by its kind', async () => {
    const before = sampleValue(await body(), 'lugh_telegram_updates_total', { kind: 'message' });
    tg.sendText({
      token: FAKE_TOKEN,
      chat: { id: ADMIN_ID, type: 'private' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: '/help',
    });
    await expect
      .poll(async () => sampleValue(await body(), 'lugh_telegram_updates_total', { kind: 'message' }), {
        timeout: 20_000,
      })
      .toBe(before + 1);
    expect(
      sampleValue(await body(), 'lugh_telegram_update_duration_seconds_count', { kind: 'message' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('a deploy through the queue moves the deploy counter and duration histogram by exactly one', async () => {
    const deployments = createDeploymentStore(pool);
    const labels = { environment: 'staging', trigger: 'manual', outcome: 'succeeded' };
    const before = await body();
    const deployment = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      requestedBy: ADMIN_ID,
    });
    const queue = createDeployQueue(redis, prefix);
    try {
      await enqueueDeploy(queue, deployment.id);
      await expect
        .poll(async () => (await deployments.get(deployment.id))?.status, { timeout: 240_000, interval: 500 })
        .toBe('succeeded');
    } finally {
      await queue.close();
    }
    await expect
      .poll(async () => sampleValue(await body(), 'lugh_deploys_total', labels), { timeout: 10_000 })
      .toBe(sampleValue(before, 'lugh_deploys_total', labels) + 1);
    const after = await body();
    const count = (text: string) =>
      sampleValue(text, 'lugh_deploy_duration_seconds_count', {
        environment: 'staging',
        outcome: 'succeeded',
      });
    expect(count(after)).toBe(count(before) + 1);
    // The +Inf bucket holds them all; the sum is the deploy's time from its row.
    expect(
      sampleValue(after, 'lugh_deploy_duration_seconds_bucket', { outcome: 'succeeded', le: '+Inf' }),
    ).toBe(count(after));
    const steps = (text: string, step: string) =>
      sampleValue(text, 'lugh_deploy_step_duration_seconds_count', { step });
    for (const step of ['resolve', 'build', 'health', 'switch', 'verify', 'record'])
      expect(steps(after, step), step).toBe(steps(before, step) + 1);
    // Staging is not backed up: a skipped step has no time.
    expect(steps(after, 'backup')).toBe(steps(before, 'backup'));
    expect(sampleValue(after, 'lugh_rollbacks_total', { kind: 'automatic' })).toBe(
      sampleValue(before, 'lugh_rollbacks_total', { kind: 'automatic' }),
    );
    // The deploy asked GitHub (resolve, the tarball): answers counted, the rate limit read.
    expect(sampleValue(after, 'lugh_github_requests_total', { status: '200' })).toBeGreaterThan(0);
    expect(samples(after).some((s) => s.name === 'lugh_queue_jobs' && s.labels.queue === 'deploys')).toBe(
      true,
    );
    expect(after).not.toContain(seeded.developSha.slice(0, 12));

    // Another process's job that sees the same ended row (a job taken back after its worker
    // died) finds it counted already: once per environment.
    const elsewhere = createPrometheusMetrics({ env: 'staging' });
    const counting = {
      deployments,
      metrics: elsewhere.metrics,
      claim: deployCountClaim(redis, prefix),
      logger,
    };
    await countDeployEnded(counting, deployment.id);
    expect((await elsewhere.render()).body).not.toMatch(/^lugh_deploys_total\{/m);
  }, 300_000);

  it.skipIf(!prometheus)(
    "Debian's Prometheus scrapes it with the bearer token and answers lugh_deploys_total",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lugh-prometheus-'));
      writeFileSync(join(dir, 'token'), METRICS_TOKEN, { mode: 0o600 });
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s, scrape_timeout: 1s }',
          'scrape_configs:',
          '  - job_name: lugh',
          `    authorization: { credentials_file: ${join(dir, 'token')} }`,
          `    static_configs: [{ targets: ["127.0.0.1:${instance.port}"] }]`,
          '',
        ].join('\n'),
      );
      const port = await freePort();
      const server = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      );
      try {
        const query = async () => {
          const res = await fetch(
            `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('lugh_deploys_total{outcome="succeeded"}')}`,
          ).catch(() => undefined);
          const json = (await res?.json().catch(() => undefined)) as
            | { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } }
            | undefined;
          return json?.data?.result ?? [];
        };
        await expect.poll(async () => (await query()).length, { timeout: 30_000, interval: 500 }).toBe(1);
        const [series] = await query();
        expect(series?.metric).toMatchObject({ job: 'lugh', environment: 'staging', trigger: 'manual' });
        expect(Number(series?.value[1])).toBe(
          sampleValue(await body(), 'lugh_deploys_total', { trigger: 'manual', outcome: 'succeeded' }),
        );
      } finally {
        server.kill('SIGTERM');
        await new Promise((resolve) =>
          server.exitCode === null ? server.once('exit', resolve) : resolve(null),
        );
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
