// The isolation audit covers every service of both environments' sets (containers labelled
// `lugh.set=<the environment's app container>`), on a real Docker engine: a clean set passes,
// a staging worker attached to production's network is caught, named with its service, by
// `runAudit` and by `lugh doctor`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAuditText, runAudit } from '../../src/doctor/audit.js';
import {
  ensureBaseImage,
  REPO_ROOT,
  removeTestResources,
  testDocker,
  uniqueName,
} from '../helpers/docker.js';

const execFileAsync = promisify(execFile);
const { docker, engine: hasDocker } = await testDocker();

type Env = 'staging' | 'production';

describe.skipIf(!hasDocker)('the isolation audit of service sets', () => {
  const run = uniqueName('lugh-test-doctor-set');
  const names = {
    staging: `${run}-staging-app`,
    production: `${run}-prod-app`,
    stagingNet: `${run}-staging-data`,
    prodNet: `${run}-prod-data`,
  };
  const worker = (env: Env) => `${names[env]}-worker-1`;
  const settings: Record<Env, Record<string, string>> = {
    staging: {
      APP_ENV: 'staging',
      PORT: '3001',
      DATABASE_URL: 'postgres://lugh_staging:s3cret-staging@db:5432/staging_lugh',
      REDIS_PREFIX: 'staging',
    },
    production: {
      APP_ENV: 'production',
      PORT: '3000',
      DATABASE_URL: 'postgres://lugh_prod:s3cret-prod@db:5432/prod_lugh',
      REDIS_PREFIX: 'prod',
    },
  };
  const limits = {
    staging: { NanoCpus: 0.5e9, Memory: 384 * 2 ** 20, CpuShares: 256, OomScoreAdj: 500 },
    production: { NanoCpus: 1.5e9, Memory: 768 * 2 ** 20, CpuShares: 1024, OomScoreAdj: 0 },
  };
  const networks: Docker.Network[] = [];
  let image: string;

  async function start(env: Env, name: string, labels: Record<string, string>) {
    const container = await docker.createContainer({
      name,
      Image: image,
      Cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
      Env: Object.entries(settings[env]).map(([k, v]) => `${k}=${v}`),
      Labels: { 'lugh.test': run, ...labels },
      HostConfig: {
        NetworkMode: env === 'staging' ? names.stagingNet : names.prodNet,
        Init: true,
        ...limits[env],
      },
    });
    await container.start();
  }

  const audit = async () => {
    const report = await runAudit({
      docker,
      containers: { staging: names.staging, production: names.production },
    });
    return { check: report.checks.find((c) => c.id === 'services')!, text: renderAuditText(report) };
  };

  beforeAll(async () => {
    image = await ensureBaseImage(docker);
    for (const name of [names.stagingNet, names.prodNet])
      networks.push(await docker.createNetwork({ Name: name, Labels: { 'lugh.test': run } }));
    for (const env of ['staging', 'production'] as const) {
      await start(env, names[env], {});
      await start(env, worker(env), {
        'lugh.set': names[env],
        'lugh.service': 'worker',
        'lugh.replica': '1',
      });
    }
  }, 300_000);

  afterAll(async () => {
    await removeTestResources(docker, run);
    for (const n of networks) await n.remove().catch(() => {});
  }, 60_000);

  it('passes a clean set of both environments, naming their service containers', async () => {
    const { check, text } = await audit();
    expect(check.ok, text).toBe(true);
    expect(check.evidence).toContain(`staging: ${worker('staging')} (worker)`);
    expect(check.evidence).toContain(`production: ${worker('production')} (worker)`);
    expect(text).not.toContain('s3cret');
  }, 60_000);

  it('catches a staging worker attached to production’s network, naming the container and its service', async () => {
    await docker.getNetwork(names.prodNet).connect({ Container: worker('staging') });
    try {
      const { check, text } = await audit();
      expect(check.ok, text).toBe(false);
      expect(check.evidence).toContain(
        `staging ${worker('staging')} (service worker) is on ${names.prodNet}, production's network (${names.production}, ${worker('production')})`,
      );
      // The app containers themselves share no network: only the services check fails for it.
      expect(text).toMatch(/PASS {2}network /);

      const cli = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'doctor',
          '--staging-container',
          names.staging,
          '--production-container',
          names.production,
        ],
        { cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      expect(cli.code).toBe(1);
      expect(cli.stdout).toMatch(
        new RegExp(
          `FAIL  services .*\\n.*staging ${worker('staging')} \\(service worker\\) is on ${names.prodNet}`,
        ),
      );
    } finally {
      await docker.getNetwork(names.prodNet).disconnect({ Container: worker('staging') });
    }
  }, 120_000);

  it('catches a staging service using production’s database and Redis prefix, and one with no limits', async () => {
    const stray = `${names.staging}-web-1`;
    const container = await docker.createContainer({
      name: stray,
      Image: image,
      Cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
      Env: ['APP_ENV=staging', `DATABASE_URL=${settings.production.DATABASE_URL}`, 'REDIS_PREFIX=prod'],
      Labels: { 'lugh.test': run, 'lugh.set': names.staging, 'lugh.service': 'web', 'lugh.replica': '1' },
      HostConfig: { NetworkMode: names.stagingNet, Init: true },
    });
    await container.start();
    try {
      const { check, text } = await audit();
      expect(check.ok).toBe(false);
      expect(check.evidence).toContain(
        `staging ${stray} (service web) uses production's database prod_lugh; keeps its Redis keys under prod:, production's prefix; has no CPU limit; has no memory limit`,
      );
      expect(text).not.toContain('s3cret-prod');
    } finally {
      await container.remove({ force: true });
    }
  }, 60_000);
});
