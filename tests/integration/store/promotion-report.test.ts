// Issue 14, point 7: what production's report tells of a promotion is known on staging when
// it hands over: who asked (by name), who approved, the PR, the release and how long CI
// took (from the status entering waiting_ci to awaiting_approval). Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportContextOf } from '../../../src/deployer/intake.js';
import { reportOf } from '../../../src/promotion/merge.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPromotionStore } from '../../../src/store/promotions.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('a promotion’s report facts', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'promotion-report-test');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('names the promoter and approver, links the PR and the release, and times CI from waiting_ci to awaiting_approval', async () => {
    const promotions = createPromotionStore(pool, 'staging');
    const p = await promotions.start({
      requestedBy: 1001,
      requestedByName: '@ada',
      chatId: 1001,
      baseRef: 'main',
      headRef: 'develop',
    });
    await promotions.update(p.id, { prNumber: 12, prUrl: 'https://github.com/o/r/pull/12' });
    await promotions.transition(p.id, ['pending'], { status: 'waiting_ci' });
    // CI took 3 min 10 s (the clock moved back instead of waiting).
    await pool.query(
      `UPDATE promotions SET ci_started_at = ci_started_at - interval '190 seconds' WHERE id = $1`,
      [p.id],
    );
    const approved = await promotions.transition(p.id, ['waiting_ci'], { status: 'awaiting_approval' });
    const report = reportOf(
      approved!,
      { id: 1002, name: '@bob', isAdmin: true },
      {
        tag: 'v1.4.0',
        url: 'https://github.com/o/r/releases/tag/v1.4.0',
      },
    );
    expect(report).toMatchObject({
      promotionId: p.id,
      pr: { number: 12, url: 'https://github.com/o/r/pull/12' },
      release: { tag: 'v1.4.0', url: 'https://github.com/o/r/releases/tag/v1.4.0' },
      promotedBy: '@ada',
      approvedBy: '@bob',
    });
    expect(report.ciMs).toBeGreaterThanOrEqual(190_000);
    expect(report.ciMs).toBeLessThan(250_000);
    // A head that moved restarts CI's clock: the time is the approved head's.
    await promotions.transition(p.id, ['awaiting_approval'], { status: 'waiting_ci' });
    const again = await promotions.transition(p.id, ['waiting_ci'], { status: 'awaiting_approval' });
    expect(reportOf(again!, { id: 1002, name: '@bob', isAdmin: true }).ciMs).toBeLessThan(60_000);
  });

  it('carries the first commit’s time and the head commit’s title from the promotion to the production deploy it becomes (lead time, fix-forwards)', async () => {
    const promotions = createPromotionStore(pool, 'staging');
    // The first test's promotion is still in flight: one at a time.
    await pool.query(`UPDATE promotions SET status = 'merged'`);
    const p = await promotions.start({
      requestedBy: 1001,
      chatId: 1001,
      baseRef: 'main',
      headRef: 'develop',
    });
    const written = new Date('2026-11-20T09:15:00.000Z');
    await promotions.update(p.id, {
      firstCommitAt: written,
      headTitle: 'fix(login): accept uppercase e-mails',
    });
    const approved = await promotions.transition(p.id, ['pending'], { status: 'awaiting_approval' });
    expect(approved?.firstCommitAt).toEqual(written);
    const report = reportOf(approved!, { id: 1002, name: '@bob', isAdmin: true });
    expect(report.firstCommitAt).toBe('2026-11-20T09:15:00.000Z');
    expect(report.headTitle).toBe('fix(login): accept uppercase e-mails');
    // Through the GitHub Deployment's payload (JSON) to production's claim; a time in another
    // shape is left out rather than trusted.
    const context = reportContextOf(JSON.parse(JSON.stringify(report)));
    expect(context?.firstCommitAt).toBe('2026-11-20T09:15:00.000Z');
    expect(context?.headTitle).toBe('fix(login): accept uppercase e-mails');
    expect(reportContextOf({ ...report, headTitle: 'x'.repeat(301) })?.headTitle).toBeUndefined();
    expect(reportContextOf({ ...report, firstCommitAt: 'yesterday' })?.firstCommitAt).toBeUndefined();
    const prodDb = await createTestDatabase('prod_lugh');
    try {
      await runMigrations({ databaseUrl: prodDb.url, logger });
      const prodPool = createPool(prodDb.url, 'promotion-report-prod');
      try {
        const { deployment } = await createDeploymentStore(prodPool).claimGitHub({
          githubDeploymentId: 1900000019,
          env: 'production',
          ref: 'b'.repeat(40),
          sha: 'b'.repeat(40),
          promotionId: p.id,
          context,
        });
        const { rows } = await prodPool.query(
          'SELECT first_commit_at, head_title FROM deployments WHERE id = $1',
          [deployment.id],
        );
        expect(rows[0]).toEqual({
          first_commit_at: written,
          head_title: 'fix(login): accept uppercase e-mails',
        });
      } finally {
        await prodPool.end();
      }
    } finally {
      await prodDb.drop();
    }
  });
});
