// Issue 14, point 5: deployment numbers are what people read ("deploy #12"), so they run
// without gaps: a claim that loses its race, a rollback tapped twice or a failed insert
// must not burn a number. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const sha = (c: string) => c.repeat(40);

describe('deployment numbers', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'deployment-numbers-test');
    deployments = createDeploymentStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('run without gaps through claims that lose their race, rollbacks tapped twice and refused inserts', async () => {
    const first = await deployments.create({ env: 'production', ref: 'main', trigger: 'manual' });
    // A webhook and a poll both claim GitHub Deployment 1700000014: one row, one number.
    const claim = {
      githubDeploymentId: 1700000014,
      env: 'production' as const,
      ref: sha('a'),
      sha: sha('a'),
    };
    const [won, lost] = await Promise.all([deployments.claimGitHub(claim), deployments.claimGitHub(claim)]);
    expect([won.created, lost.created].sort()).toEqual([false, true]);
    await deployments.claimGitHub(claim);
    // A rollback button tapped twice: one deployment.
    const rollback = { env: 'production' as const, sha: sha('b'), requestKey: 'picker:1' };
    await deployments.createRollback(rollback);
    await deployments.createRollback(rollback);
    // An insert the database refuses (no such trigger) takes no number either.
    await expect(
      pool.query(`INSERT INTO deployments (env, ref, trigger) VALUES ('production', 'main', 'nonsense')`),
    ).rejects.toThrow();
    const last = await deployments.create({ env: 'production', ref: 'main', trigger: 'manual' });
    const ids = (await deployments.recent('production', 10)).map((d) => d.id).sort((a, b) => a - b);
    expect(ids).toEqual([first.id, first.id + 1, first.id + 2, first.id + 3]);
    expect(last.id).toBe(first.id + 3);
  });

  it('two deployments created at the same instant get two consecutive numbers', async () => {
    const before = (await deployments.recent('production', 1))[0]?.id ?? 0;
    const made = await Promise.all(
      Array.from({ length: 6 }, () =>
        deployments.create({ env: 'production', ref: 'main', trigger: 'manual' }),
      ),
    );
    expect(made.map((d) => d.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6].map((n) => before + n));
  });
});
