// Figures for /status: the time from sending `/status` to the staging bot's reply (the
// compact one-screen form), with every source up and with one source (GitHub's compare)
// hanging. Both instances run in this process on the benchmark's Postgres and Redis, with
// the Telegram and GitHub stand-ins and, when there is one, the real Docker engine and an
// app container per env. CPU and memory come from each instance's background sampler, so
// no reply waits for Docker's stats (before it, p50 was 1006 ms: a second CPU sample per
// container). The aim is p95 under 300 ms with all sources up; it is printed, not asserted.
// BENCH_STATUS_GAP_MS spaces the asks (0: back to back).
import { cpus, loadavg } from 'node:os';
import { startInstance } from '../src/app/instance.js';
import { createConfig } from '../src/config/index.js';
import { freePort } from '../src/sandbox/free-port.js';
import { startTelegramStandIn } from '../src/sandbox/telegram/index.js';
import {
  removeTestResources,
  startIdleAppContainers,
  testDocker,
  uniqueName,
} from '../tests/helpers/docker.js';
import { ADMIN_ID, instanceEnv } from '../tests/helpers/instance-env.js';
import { silentLogger } from '../tests/helpers/logger.js';
import { startSeededGitHub } from '../tests/helpers/seeded-github.js';
import type { TestDatabase } from '../tests/helpers/services.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';
import { percentile } from './stats.js';

const RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 30);
const GAP_MS = Number(process.env.BENCH_STATUS_GAP_MS ?? 0);
const TOKENS = {
  staging: '7006101:AAStatusBenchStagingToken_abcdefghij',
  production: '7006102:AAStatusBenchProdToken_abcdefghijklm',
};
const GITHUB_TOKEN = 'ghs_statusBenchToken';
/** The short form's line of what waits to ship: its first part is develop against main (compare). */
const COMPARE_LINE = /^⏳ develop/;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

/** Runs /status RUNS times with all sources up and RUNS times with compare hanging; prints p50/p95. */
export async function benchStatus(databaseUrl: string, redisUrl: string): Promise<void> {
  const run = uniqueName('lugh-bench-status');
  const { docker, engine } = await testDocker();
  const tg = await startTelegramStandIn();
  tg.registerBot({ token: TOKENS.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
  tg.registerBot({ token: TOKENS.production, username: 'LughBot', firstName: 'Lugh' });
  const { gh, seeded, forge } = await startSeededGitHub(GITHUB_TOKEN);
  await forge.createRelease('v1.0.0', seeded.mainSha);
  const dbs: TestDatabase[] = [];
  const instances: Awaited<ReturnType<typeof startInstance>>[] = [];
  try {
    if (engine) await startIdleAppContainers(docker, run);
    for (const env of ['staging', 'production'] as const) {
      const db = await createBenchDatabase(databaseUrl, env === 'staging' ? 'staging_lugh' : 'prod_lugh');
      dbs.push(db);
      const config = createConfig(
        instanceEnv({
          appEnv: env,
          databaseUrl: db.url,
          redisUrl,
          apiRoot: tg.apiRoot,
          token: TOKENS[env],
          port: await freePort(),
          redisSub: run.slice(-8),
          extra: {
            GITHUB_TOKEN,
            GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
            GITHUB_API_URL: gh.apiUrl,
            DEPLOY_CONTAINER: `${run}-${env}-app`,
            GIT_SHA: env === 'staging' ? seeded.developSha : seeded.mainSha,
            LOG_LEVEL: 'warn',
          },
        }),
      );
      const instance = await startInstance(config, silentLogger, {
        resilientGitHub: false,
      });
      instances.push(instance);
      await instance.telegram.ready;
    }

    const ask = async () => {
      const t0 = performance.now();
      const sent = tg.sendText({
        token: TOKENS.staging,
        chat: { id: admin.id, type: 'private' },
        from: admin,
        text: '/status',
      });
      const reply = await tg.waitForBotMessage(
        TOKENS.staging,
        admin.id,
        (m) => m.message_id > sent.message_id,
        {
          timeoutMs: 15_000,
        },
      );
      return { ms: performance.now() - t0, text: reply.text ?? '' };
    };
    // Until production has published its status, its part is unknown: wait for it, and warm up.
    for (let i = 0; i < 50 && (await ask()).text.includes('production ❔'); i++)
      await new Promise((resolve) => setTimeout(resolve, 200));

    const series = async () => {
      const times: number[] = [];
      const unknown = new Map<string, number>();
      let unmarked = 0;
      let compareLine = '';
      for (let i = 0; i < RUNS; i++) {
        if (GAP_MS) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
        const { ms, text } = await ask();
        times.push(ms);
        for (const line of text.split('\n').filter((l) => l.includes('❔')))
          unknown.set(line.trim(), (unknown.get(line.trim()) ?? 0) + 1);
        compareLine =
          text
            .split('\n')
            .find((l) => COMPARE_LINE.test(l))
            ?.split(' · ')[0]
            ?.trim() ?? '(no compare line)';
        if (!/❔|ago/.test(compareLine)) unmarked++;
      }
      return { times, unknown, unmarked, compareLine };
    };
    const figures = (key: string, label: string, s: Awaited<ReturnType<typeof series>>, maxMs: number) => {
      const unknown = [...s.unknown].map(([line, n]) => `${n}× “${line}”`).join('; ') || 'none';
      record({
        key: `${key}.p50`,
        label: `/status, ${label}, p50`,
        value: percentile(s.times, 50),
        unit: 'ms',
      });
      record({
        key: `${key}.p95`,
        label: `/status, ${label}, p95`,
        value: percentile(s.times, 95),
        unit: 'ms',
        goal: { max: maxMs },
        note: `${RUNS} runs, max ${Math.max(...s.times).toFixed(0)} ms; unknown lines: ${unknown}`,
      });
    };

    // Other work on the machine shows in these figures: say how busy it was.
    console.log(
      `/status, compact (aim: p95 < 300 ms with all sources up; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; staging bot, both instances in process, Telegram and GitHub stand-ins, ${engine ? 'real Docker with an app container per env' : 'no Docker engine: containers unknown'}; sent → reply)`,
    );
    figures('status.up', 'all sources up', await series(), 300);
    gh.injectFault({ route: 'GET /repos/{owner}/{repo}/compare/{basehead}', kind: 'hang', times: RUNS });
    // The last answer, dated, after 150 ms: the reply must say it is not fresh.
    const hanging = await series();
    figures('status.hanging', 'GitHub compare hanging', hanging, 1_000);
    record({
      key: 'status.hanging.unmarked',
      label: '/status, compare hanging, shown as fresh',
      value: (hanging.unmarked / RUNS) * 100,
      unit: '%',
      goal: { max: 0 },
      note: `replies whose compare line is neither dated nor unknown; e.g. “${hanging.compareLine}”`,
    });
  } finally {
    for (const i of instances) await i.stop().catch(() => {});
    if (engine) await removeTestResources(docker, run);
    await gh.close();
    await tg.close();
    for (const db of dbs) await db.drop();
  }
}
