// Promotions are counted as the promotion moves them in Postgres: each ending once, CI's
// wait when CI turns green, nothing for a transition someone else won.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingPromotions } from '../../../src/app/promotion-metrics.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPromotionStore } from '../../../src/store/promotions.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('promotion metrics', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'promotion-metrics-test');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('counts a merged promotion once and its CI wait once, a lost transition not at all', async () => {
    const prom = createPrometheusMetrics({ env: 'staging' });
    const promotions = countingPromotions(createPromotionStore(pool, 'staging'), prom.metrics);
    const p = await promotions.start({ requestedBy: 1, chatId: 1, baseRef: 'main', headRef: 'develop' });
    await promotions.update(p.id, { status: 'waiting_ci', headSha: 'a'.repeat(40) });
    expect(await promotions.transition(p.id, ['waiting_ci'], { status: 'awaiting_approval' })).toBeDefined();
    // A merge that failed goes back to awaiting_approval: no second CI wait.
    await promotions.transition(p.id, ['awaiting_approval'], { status: 'merging' });
    await promotions.transition(p.id, ['merging'], { status: 'awaiting_approval' });
    await promotions.transition(p.id, ['awaiting_approval'], { status: 'merging' });
    await promotions.update(p.id, { status: 'merged', mergeSha: 'b'.repeat(40) });
    // Someone else already ended it: this transition changes nothing and counts nothing.
    expect(await promotions.transition(p.id, ['awaiting_approval'], { status: 'expired' })).toBeUndefined();

    const body = (await prom.render()).body;
    const lines = body.split('\n').filter((l) => l.startsWith('lugh_promotions_total{'));
    expect(lines).toEqual(['lugh_promotions_total{outcome="merged",environment="staging"} 1']);
    expect(body).toContain('lugh_ci_wait_seconds_count{environment="staging"} 1');
  });
});
