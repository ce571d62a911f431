// A service set's deploy through the real step runner, Postgres and Docker, for tests of
// the set's switch (tests/integration/deployer/service-set-switch.test.ts): the steps from
// start to record, after a stand-in resolve that sets what resolve and build give a set
// deploy (the set, each service's image, the commit). Run in-process or, for a kill, in a
// child process (set-deploy-child.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { DeployNotifier } from '../../src/deployer/deploy-notifier.js';
import type { Failpoints } from '../../src/deployer/failpoints.js';
import { createHaproxyProxy } from '../../src/deployer/proxy/haproxy-proxy.js';
import { createDockerRuntime } from '../../src/deployer/runtime/docker-runtime.js';
import { parseServiceFile } from '../../src/deployer/service-file.js';
import type { ServiceSet } from '../../src/deployer/service-set.js';
import { createStepRunner } from '../../src/deployer/step-runner.js';
import { healthStep } from '../../src/deployer/steps/health.js';
import { recordStep } from '../../src/deployer/steps/record.js';
import { startStep } from '../../src/deployer/steps/start.js';
import { type Step, type StepContext, succeeded } from '../../src/deployer/steps/step.js';
import { switchStep } from '../../src/deployer/steps/switch.js';
import { verifyStep } from '../../src/deployer/steps/verify.js';
import { createDeploymentStore } from '../../src/store/deployments.js';
import { createLockStore } from '../../src/store/locks.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createPool, type Pool } from '../../src/store/pool.js';
import { ensureBaseImage, removeTestResources } from './docker.js';
import { silentLogger } from './logger.js';
import { createTestDatabase } from './services.js';

// One image for every service: the role is its command's argument. BAD names the role whose
// health check fails in that image.
export const SERVER = `const role = process.argv[2] || 'app';
const version = process.env.GIT_SHA || 'none';
const began = Date.now();
// SICK_ROLE's container answers its health check for 4 s, then falls sick.
const sick = () => process.env.BAD_ROLE === role || (process.env.SICK_ROLE === role && Date.now() - began > 4000);
const bad = process.env.BAD_ROLE === role;
const server = require('node:http').createServer((q, s) => {
  if (q.url === '/healthz') { const no = sick(); s.writeHead(no ? 500 : 200); s.end(no ? 'sick' : 'ok'); return; }
  s.writeHead(200); s.end(JSON.stringify({ role, version }));
}).listen(Number(process.env.PORT || 8080), () => console.log(role + ' ' + version + ' up' + (bad ? ', its health check fails' : '')));
// docker stop: in-flight requests finish, as a real app's do.
process.on('SIGTERM', () => { server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 5000).unref(); });
`;
export const DOCKERFILE = (base: string) => `FROM ${base}
ARG BAD=
ARG SICK=
ENV BAD_ROLE=\${BAD} SICK_ROLE=\${SICK} PORT=8080
WORKDIR /srv
COPY server.js ./
EXPOSE 8080
CMD ["node", "server.js"]
`;

// app ×2, web, worker: in this order (the worker last, so a sick worker meets the others switched).
export const SET = parseServiceFile(`
services:
  app:
    port: 8080
    traffic: true
    replicas: 2
    health: { http: /healthz }
    order: 10
  web:
    command: [node, server.js, web]
    port: 8082
    traffic: true
    health: none
    order: 20
  worker:
    command: [node, server.js, worker]
    port: 8081
    health: { http: /healthz }
    order: 30
`);

/**
 * Builds the one image (`good`), the one whose worker fails its health check (`bad`) and,
 * if asked, the one whose worker falls sick 4 s after it starts (`sick`).
 */
export async function buildSetImages(
  docker: Docker,
  baseImage: string,
  tags: { readonly good: string; readonly bad: string; readonly sick?: string },
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-set-image-'));
  writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE(baseImage));
  writeFileSync(path.join(dir, 'server.js'), SERVER);
  const builds: Array<[string, Record<string, string>]> = [
    [tags.good, {}],
    [tags.bad, { BAD: 'worker' }],
    ...(tags.sick ? [[tags.sick, { SICK: 'worker' }] as [string, Record<string, string>]] : []),
  ];
  for (const [tag, buildargs] of builds) {
    const stream = await docker.buildImage(
      { context: dir, src: ['Dockerfile', 'server.js'] },
      { t: tag, buildargs },
    );
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (error, out) => {
        const failed = out?.find((o: { errorDetail?: unknown }) => o.errorDetail);
        if (error || failed) reject(error ?? new Error(JSON.stringify(failed)));
        else resolve(out);
      }),
    );
  }
}

/** What a set deploy deploys: the set, each service's image, the commit. */
export interface SetDeployInput {
  readonly set: ServiceSet;
  readonly images: Readonly<Record<string, string>>;
  readonly sha: string;
}

export function setDeploySteps(input: SetDeployInput): Step[] {
  const fill = (ctx: StepContext) => {
    ctx.sha = input.sha;
    ctx.serviceSet = input.set;
    ctx.serviceImages = new Map(Object.entries(input.images));
    ctx.image = input.images.app;
  };
  const resolve: Step = {
    name: 'resolve',
    async run(ctx) {
      fill(ctx);
      return succeeded(input.sha);
    },
    restore(ctx) {
      fill(ctx);
      return true;
    },
  };
  return [resolve, startStep, healthStep, switchStep, verifyStep, recordStep];
}

export function setDeployRunner(options: {
  readonly pool: Pool;
  readonly docker: Docker;
  readonly containerName: string;
  readonly input: SetDeployInput;
  readonly proxyAdminUrl?: string;
  readonly failpoints?: Failpoints;
  readonly notifier?: DeployNotifier;
  readonly healthDeadlineMs?: number;
  readonly verifyMs?: number;
}) {
  const { docker, pool } = options;
  return createStepRunner({
    env: 'staging',
    logger: silentLogger,
    deployments: createDeploymentStore(pool),
    locks: createLockStore(pool),
    source: {} as never, // the stand-in resolve asks no forge
    builder: {} as never, // nor builds
    runtime: createDockerRuntime({
      docker,
      logger: silentLogger,
      failpoints: options.failpoints,
      proxy: options.proxyAdminUrl ? createHaproxyProxy({ adminUrl: options.proxyAdminUrl }) : undefined,
    }),
    notifier: options.notifier ?? { step: async () => {}, finished: async () => {} },
    containerName: () => options.containerName,
    backup: 'staging is not backed up',
    healthDeadlineMs: options.healthDeadlineMs ?? 20_000,
    verifyMs: options.verifyMs ?? 2_000,
    steps: setDeploySteps(options.input),
  });
}

/**
 * The world of a set-switch test: a migrated staging database, the set's images, a network,
 * and the environment as it was before lugh.yml (one app container, `base`, running
 * images.good). `close` removes every container named from `base`, the run's resources,
 * the network and the database.
 */
export async function startSetWorld(
  docker: Docker,
  options: {
    readonly run: string;
    readonly base: string;
    readonly images: { readonly good: string; readonly bad: string; readonly sick?: string };
    readonly poolName: string;
    readonly sha: string;
    /** The app container's restart policy (none by default). */
    readonly restart?: string;
  },
) {
  const { run, base, images } = options;
  const db = await createTestDatabase('staging_lugh');
  await runMigrations({ databaseUrl: db.url, logger: silentLogger });
  const pool = createPool(db.url, options.poolName);
  const deployments = createDeploymentStore(pool);
  await buildSetImages(docker, await ensureBaseImage(docker), images);
  const network = await docker.createNetwork({ Name: `${run}-net`, Labels: { 'lugh.test': run } });
  const app = await docker.createContainer({
    name: base,
    Image: images.good,
    Env: ['APP_ENV=staging', `GIT_SHA=${options.sha}`],
    Labels: { 'lugh.test': run },
    HostConfig: {
      NetworkMode: network.id,
      ...(options.restart ? { RestartPolicy: { Name: options.restart } } : {}),
    },
  });
  await app.start();
  return {
    db,
    pool,
    deployments,
    network,
    app,
    async close(): Promise<void> {
      for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } }))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      await removeTestResources(docker, run);
      await network.remove().catch(() => {});
      await pool.end();
      await db.drop();
    },
  };
}

export type SetWorld = Awaited<ReturnType<typeof startSetWorld>>;
