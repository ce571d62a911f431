// Issue 14, point 7: what production's report tells of a promotion is known on staging when
// it hands over: who asked (by name), who approved, the PR, the release and how long CI
// took (from the status entering waiting_ci to awaiting_approval). Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportOf } from '../../../src/promotion/merge.js';
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
});
