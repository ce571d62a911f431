import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPromotionStore, PromotionInFlightError } from '../../../src/store/promotions.js';
import { silentLogger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('promotion and deployment stores', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger: silentLogger });
    pool = createPool(db.url, 'promotions-test');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('allows one promotion in flight and names it to the second requester', async () => {
    const store = createPromotionStore(pool, 'staging');
    const first = await store.start({ requestedBy: 1, chatId: 1, baseRef: 'main', headRef: 'develop' });
    const second = await store
      .start({ requestedBy: 2, chatId: 2, baseRef: 'main', headRef: 'develop' })
      .catch((e) => e);
    expect(second).toBeInstanceOf(PromotionInFlightError);
    expect((second as PromotionInFlightError).existing.id).toBe(first.id);
    await store.update(first.id, { status: 'cancelled' });
    const third = await store.start({ requestedBy: 2, chatId: 2, baseRef: 'main', headRef: 'develop' });
    expect(third.id).toBeGreaterThan(first.id);
    await store.update(third.id, { status: 'cancelled' });
  });

  it('lets exactly one of many racing confirmations move a promotion to merging', async () => {
    const store = createPromotionStore(pool, 'staging');
    const p = await store.start({ requestedBy: 1, chatId: 1, baseRef: 'main', headRef: 'develop' });
    await store.update(p.id, { status: 'awaiting_approval', headSha: 'a'.repeat(40) });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.transition(
          p.id,
          ['awaiting_approval'],
          { status: 'merging', approvedBy: i },
          { headSha: 'a'.repeat(40) },
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    // A stale head never wins.
    await store.update(p.id, { status: 'awaiting_approval' });
    expect(
      await store.transition(p.id, ['awaiting_approval'], { status: 'merging' }, { headSha: 'b'.repeat(40) }),
    ).toBe(undefined);
    await store.update(p.id, { status: 'cancelled' });
  });

  it('makes one handed-over GitHub Deployment exactly one deployment however many claimers race', async () => {
    const deployments = createDeploymentStore(pool);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        deployments.claimGitHub({
          githubDeploymentId: 4242,
          env: 'production',
          ref: 'main',
          sha: 'c'.repeat(40),
          requestedBy: 1,
          chatId: 1,
        }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.deployment.id)).size).toBe(1);
  });

  it('records a webhook delivery once; a redelivery is recognised', async () => {
    const store = createPromotionStore(pool, 'staging');
    expect(await store.recordDelivery('d-1', 'check_run')).toBe(true);
    expect(await store.recordDelivery('d-1', 'check_run')).toBe(false);
  });
});
