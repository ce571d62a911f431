// The version running before lugh's first deploy is a release: when lugh first starts on a
// server, the commit its app container runs (read through the real Docker runtime from the
// container's GIT_SHA, else its labels) is recorded, so the first deploy can be rolled back.
// Real Docker engine, real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFirstRelease } from '../../../src/deployer/first-release.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const { docker } = await testDocker();
const run = uniqueName('lugh-first-release');
const RUNNING = '1'.repeat(40);
const LABELLED = '2'.repeat(40);
const PROMOTED = '3'.repeat(40);

describe('the release running when lugh first starts', () => {
  let db: TestDatabase;
  let stagingDb: TestDatabase;
  let pool: Pool;
  let stagingPool: Pool;
  let deployments: ReturnType<typeof createDeploymentStore>;
  // Each environment has its own database, as on a server.
  let stagingDeployments: ReturnType<typeof createDeploymentStore>;
  const runtime = createDockerRuntime({ docker, logger });
  const withEnv = `${run}-production-app`;
  const withLabel = `${run}-staging-app`;

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    // An app container as lugh's image makes it (GIT_SHA baked in), and one of an image that
    // says its commit only in the OCI revision label.
    for (const [name, env, labels] of [
      [withEnv, [`GIT_SHA=${RUNNING}`], {}],
      [withLabel, [], { 'org.opencontainers.image.revision': LABELLED }],
    ] as const) {
      const container = await docker.createContainer({
        name,
        Image: image,
        Cmd: ['sleep', '3600'],
        Env: [...env],
        Labels: { 'lugh.test': run, ...labels },
      });
      await container.start();
    }
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'first-release-test');
    deployments = createDeploymentStore(pool);
    stagingDb = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: stagingDb.url, logger });
    stagingPool = createPool(stagingDb.url, 'first-release-staging');
    stagingDeployments = createDeploymentStore(stagingPool);
  });

  afterAll(async () => {
    await removeTestResources(docker, run);
    await pool?.end();
    await stagingPool?.end();
    await db?.drop();
    await stagingDb?.drop();
  });

  it('is recorded from the app container’s GIT_SHA, so the first deploy after it has a release to roll back to', async () => {
    const recorded = await recordFirstRelease({
      runtime,
      deployments,
      env: 'production',
      containerName: withEnv,
      logger,
    });
    expect(recorded).toMatchObject({ id: 0, sha: RUNNING, status: 'succeeded', trigger: 'baseline' });

    // The first promotion's deploy: #1 (the release found running is #0).
    const first = await deployments.create({
      env: 'production',
      ref: 'main',
      sha: PROMOTED,
      trigger: 'manual',
    });
    expect(first.id).toBe(1);
    await deployments.finish(first.id, { status: 'succeeded', sha: PROMOTED });
    const releases = await deployments.releases('production', 6);
    expect(releases.map((r) => r.sha)).toEqual([PROMOTED, RUNNING]);
  });

  it('is recorded once: a later start of lugh records nothing, even with another commit running', async () => {
    const again = await recordFirstRelease({
      runtime,
      deployments,
      env: 'production',
      containerName: withLabel,
      logger,
    });
    expect(again).toBeUndefined();
    expect((await deployments.releases('production', 6)).map((r) => r.sha)).toEqual([PROMOTED, RUNNING]);
  });

  it('records nothing when no app container runs (nothing is known to run)', async () => {
    const recorded = await recordFirstRelease({
      runtime,
      deployments: stagingDeployments,
      env: 'staging',
      containerName: `${run}-missing`,
      logger,
    });
    expect(recorded).toBeUndefined();
    expect(await stagingDeployments.releases('staging', 6)).toEqual([]);
  });

  it('is read from the container’s labels when it has no GIT_SHA (org.opencontainers.image.revision)', async () => {
    const recorded = await recordFirstRelease({
      runtime,
      deployments: stagingDeployments,
      env: 'staging',
      containerName: withLabel,
      logger,
    });
    expect(recorded?.sha).toBe(LABELLED);
    expect((await stagingDeployments.releases('staging', 6)).map((r) => r.sha)).toEqual([LABELLED]);
  });
});
