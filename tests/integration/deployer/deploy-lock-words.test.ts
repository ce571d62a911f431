// Issue 14, point 9: a deploy refused by another deploy's lock says which deploy (by its
// number, as people know it) and a short SHA, never the internal owner "deployment:N".
// Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentLock } from '../../../src/deployer/deploy-lock.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import {
  createLockStore,
  deployLockName,
  deploymentOwner,
  type LockStore,
} from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('a deploy refused by another deploy’s lock', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  let locks: LockStore;
  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'deploy-lock-words-test');
    deployments = createDeploymentStore(pool);
    locks = createLockStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('names “deploy #N (running)” with a short SHA, and what clears it', async () => {
    const sha = 'b37705b1234567890abcdef1234567890abcdef1';
    const running = await deployments.create({ env: 'staging', ref: sha, sha, trigger: 'manual' });
    await deployments.stepStarted(running.id, 'build');
    await locks.acquire({
      name: deployLockName('staging'),
      owner: deploymentOwner(running.id),
      reason: `deploy #${running.id} of ${sha}`,
      ttlMs: 60_000,
    });
    const next = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual' });
    // A lock of 1 ms: it gives up waiting for the running deploy at once.
    const lock = createDeploymentLock({
      locks,
      deployments,
      env: 'staging',
      deploymentId: next.id,
      reason: `deploy #${next.id} of develop`,
      ttlMs: 1,
    });
    const refused = await lock.take().then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(refused).toContain(`staging is locked by deploy #${running.id} (running)`);
    expect(refused).toContain('b37705b');
    expect(refused).not.toContain(sha);
    expect(refused).not.toContain('deployment:');
    expect(refused).toContain(`it is freed when deploy #${running.id} ends`);
  });
});
