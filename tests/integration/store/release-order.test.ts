// The /rollback picker reads releases newest first and offers every one but the first: a
// release that finished in the same millisecond as the one before it (or in the same
// transaction) must still come first, or the picker offers the running release and hides
// the one to go back to. CI hit this with two deployments finished back to back. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const sha = (c: string) => c.repeat(40);

describe('releases, newest first', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  beforeAll(async () => {
    db = await createTestDatabase('release_order');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'release-order-test');
    deployments = createDeploymentStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  async function release(env: 'staging' | 'production', c: string, finishedAt: string) {
    const d = await deployments.create({ env, ref: 'develop', sha: sha(c), trigger: 'manual' });
    await deployments.finish(d.id, { status: 'succeeded', sha: sha(c) });
    await pool.query('UPDATE deployments SET finished_at = $2 WHERE id = $1', [d.id, finishedAt]);
    return d.id;
  }

  it('puts the later of two releases finished within one millisecond first', async () => {
    // 300 µs apart: Postgres keeps the difference, a JavaScript Date does not.
    const older = await release('staging', 'e', '2026-11-30T10:00:00.000100Z');
    const newer = await release('staging', 'f', '2026-11-30T10:00:00.000400Z');
    expect((await deployments.releases('staging')).map((r) => r.id)).toEqual([newer, older]);
  });

  it('puts the later-numbered of two releases finished at the same instant first', async () => {
    const older = await release('production', 'c', '2026-11-30T11:00:00Z');
    const newer = await release('production', 'd', '2026-11-30T11:00:00Z');
    expect((await deployments.releases('production')).map((r) => r.id)).toEqual([newer, older]);
  });
});
