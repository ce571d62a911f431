// Issue 16: a deployment of a service set keeps the set and each container's state, a row
// per replica, in the order the deploy moves them. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { containersOf } from '../../../src/deployer/service-set.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const SET = parseServiceFile(`
services:
  app: { port: 3000, traffic: true, replicas: 2, order: 2 }
  worker: { image_of: app, command: [node, worker.js], order: 1 }
`);

describe('the services of a deployment', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  beforeAll(async () => {
    db = await createTestDatabase('stg_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'deployment-services-test');
    deployments = createDeploymentStore(pool, { redact: (t) => t.replaceAll('s3cret', '[redacted]') });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('keeps the set and moves each container on, in the deploy’s order, redacting details', async () => {
    const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual' });
    const containers = containersOf(SET, 'x-app');
    await deployments.setServices(d.id, SET, containers);
    await deployments.serviceState(d.id, { service: 'app', replica: 2 }, 'failed', 'exited 1: token s3cret');
    await deployments.serviceState(d.id, { service: 'worker', replica: 1 }, 'switched');
    // A resumed run records the set again: the states stand.
    await deployments.setServices(d.id, SET, containers);
    expect(await deployments.servicesOf(d.id)).toEqual(JSON.parse(JSON.stringify(SET)));
    const progress = await deployments.serviceProgress(d.id);
    expect(progress.map((p) => [p.container, p.state, p.detail])).toEqual([
      ['x-app-worker-1', 'switched', null],
      ['x-app', 'waiting', null],
      ['x-app-2', 'failed', 'exited 1: token [redacted]'],
    ]);
  });

  it('has no set for a deployment of one service', async () => {
    const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual' });
    expect(await deployments.servicesOf(d.id)).toBeUndefined();
    expect(await deployments.serviceProgress(d.id)).toEqual([]);
  });
});
