// /delivery's four DORA figures computed in SQL, on a seeded history whose answers were
// worked out by hand (see each deployment's comment). Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryCaption } from '../../../src/bot/deploys/delivery-text.js';
import { deliveryReport } from '../../../src/deploys/delivery-report.js';
import { type DeliveryPeriod, deliveryFigures } from '../../../src/store/delivery-figures.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const NOW = new Date('2026-06-30T12:00:00.000Z');
const H = 3_600_000;
const D = 24 * H;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

interface Seed {
  env?: 'staging' | 'production';
  trigger: 'promotion' | 'push' | 'manual' | 'rollback' | 'baseline';
  status: string;
  finished: Date;
  created?: Date;
  firstCommit?: Date;
  verified?: boolean;
}

describe('delivery figures (SQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let figures: ReturnType<typeof deliveryFigures>;
  const seed = async (s: Seed) => {
    const { rows } = await pool.query(
      `INSERT INTO deployments (env, ref, sha, trigger, status, created_at, started_at, finished_at, first_commit_at)
       VALUES ($1, 'main', $2, $3, $4, $5, $5, $6, $7) RETURNING id`,
      [
        s.env ?? 'production',
        'a'.repeat(40),
        s.trigger,
        s.status,
        s.created ?? new Date(s.finished.getTime() - 5 * 60_000),
        s.finished,
        s.firstCommit ?? null,
      ],
    );
    if (s.verified)
      await pool.query(
        `INSERT INTO deployment_steps (deployment_id, step, status) VALUES ($1, 'verify', 'succeeded')`,
        [rows[0].id],
      );
  };

  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'delivery-figures-test');
    figures = deliveryFigures(pool);
    const at = (t: Date, plus: number) => new Date(t.getTime() + plus);
    // The current 30 days, [NOW-30d, NOW):
    await seed({ trigger: 'manual', status: 'succeeded', finished: ago(30 * D) }); // I: on the boundary, in
    await seed({ trigger: 'baseline', status: 'succeeded', finished: ago(29 * D) }); // no deploy
    await seed({
      trigger: 'promotion',
      status: 'succeeded',
      finished: ago(25 * D),
      firstCommit: ago(25 * D + 48 * H),
    }); // A: lead 48 h
    await seed({ trigger: 'promotion', status: 'succeeded', finished: ago(20 * D) }); // B: no first commit
    await seed({ trigger: 'manual', status: 'rolled_back', finished: ago(15 * D) }); // C: failed, restored by D (24 h)
    await seed({ trigger: 'manual', status: 'succeeded', finished: ago(14 * D) }); // D: /rollback R1 2 h later
    await seed({
      trigger: 'rollback',
      status: 'succeeded',
      created: at(ago(14 * D), 2 * H),
      finished: at(ago(14 * D), 3 * H),
    }); // R1: restores D (3 h)
    await seed({
      trigger: 'promotion',
      status: 'succeeded',
      finished: ago(10 * D),
      firstCommit: ago(10 * D + 2 * H),
    }); // E: lead 2 h
    await seed({
      trigger: 'rollback',
      status: 'succeeded',
      created: at(ago(10 * D), 30 * H),
      finished: at(ago(10 * D), 31 * H),
    }); // R2: 30 h after E, no failure
    await seed({ trigger: 'push', status: 'succeeded', finished: ago(5 * D) }); // F: /rollback R3 1 h later
    await seed({
      trigger: 'rollback',
      status: 'rolled_back',
      created: at(ago(5 * D), H),
      finished: at(ago(5 * D), 1.5 * H),
    }); // R3: the rollback rolled back: restores nothing
    await seed({
      trigger: 'rollback',
      status: 'succeeded',
      created: at(ago(5 * D), 3 * H),
      finished: at(ago(5 * D), 4 * H),
    }); // R4: restores F (4 h)
    await seed({ trigger: 'manual', status: 'failed', finished: ago(3 * D) }); // G: failed before it ran: nothing
    await seed({ trigger: 'manual', status: 'cancelled', finished: ago(3 * D) }); // nothing
    await seed({
      trigger: 'promotion',
      status: 'failed',
      verified: true,
      finished: ago(2 * D),
      firstCommit: ago(2 * D + 10 * H),
    }); // H: ran (verify passed), lead 10 h
    await seed({ trigger: 'push', status: 'succeeded', finished: at(ago(2 * D), H) }); // K: the next change after H
    await seed({
      trigger: 'rollback',
      status: 'succeeded',
      created: at(ago(2 * D), 2 * H),
      finished: at(ago(2 * D), 3 * H),
    }); // R5: fails K (not H), restores it in 2 h
    // The previous 30 days, [NOW-60d, NOW-30d):
    await seed({ trigger: 'manual', status: 'succeeded', finished: ago(30 * D + 1000) }); // J: just before the boundary
    await seed({
      trigger: 'promotion',
      status: 'succeeded',
      finished: ago(40 * D),
      firstCommit: ago(40 * D + 4 * H),
    }); // L: lead 4 h
    await seed({ trigger: 'manual', status: 'rolled_back', finished: ago(45 * D) }); // M: restored by L (5 days)
    // Staging's own: one deploy, then one lugh rolled back and nothing after it.
    await seed({ env: 'staging', trigger: 'push', status: 'succeeded', finished: ago(3 * D) });
    await seed({ env: 'staging', trigger: 'push', status: 'rolled_back', finished: ago(D) });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const window = async (
    env: 'staging' | 'production',
    days: number,
  ): Promise<[DeliveryPeriod, DeliveryPeriod]> => {
    const [previous, current] = await figures.deliveryPeriods(env, ago(2 * days * D), days * D, 2);
    return [previous!, current!];
  };

  it('answers the hand-computed figures for production over 30 days and the 30 before', async () => {
    const [previous, current] = await window('production', 30);
    expect(current).toMatchObject({
      from: ago(30 * D),
      to: NOW,
      deploys: 8, // I A B D E F H K
      changes: 9, // and C
      failures: 4, // C (lugh rolled it back), D (R1), F (R3), K (R5)
      leadSeconds: 10 * 3600, // median of 48 h, 2 h, 10 h
      leadCount: 3,
      leadMissing: 1, // B
      restoreSeconds: 12_600, // median of 24 h, 3 h, 4 h, 2 h
      restoreCount: 4,
      unrestored: 0,
      untitledNext: 1, // H: K came 1 h later without a title (a push)
    });
    expect(previous).toMatchObject({
      deploys: 2,
      changes: 3,
      failures: 1,
      leadSeconds: 4 * 3600,
      leadCount: 1,
      leadMissing: 0,
      restoreSeconds: 5 * 86_400,
      restoreCount: 1,
    });
  });

  it('puts each change in the bucket its finish falls in, a boundary in the later one', async () => {
    const buckets = await figures.deliveryPeriods('production', ago(30 * D), 5 * D, 6);
    expect(buckets.map((b) => b.deploys)).toEqual([1, 1, 1, 1, 1, 3]);
    expect(buckets.map((b) => b.failures)).toEqual([0, 0, 0, 2, 0, 2]);
  });

  it('keeps each environment to its own rows, and counts a failure nothing restored yet', async () => {
    const [, current] = await window('staging', 7);
    expect(current).toMatchObject({
      deploys: 1,
      changes: 2,
      failures: 1,
      restoreSeconds: null,
      restoreCount: 0,
      unrestored: 1,
    });
  });

  it('answers zeros and no medians (never NaN) for a window without deploys', async () => {
    const [previous, current] = await figures.deliveryPeriods('production', ago(400 * D), 7 * D, 2);
    for (const p of [previous!, current!])
      expect(p).toMatchObject({
        deploys: 0,
        changes: 0,
        failures: 0,
        leadSeconds: null,
        leadCount: 0,
        restoreSeconds: null,
        unrestored: 0,
      });
  });

  it('says in the caption exactly the figures the SQL answered, with trend and band', async () => {
    const report = await deliveryReport(figures, 'production', 30, NOW);
    expect(report.series).toHaveLength(12);
    expect(report.series.slice(6).reduce((n, p) => n + p.deploys, 0)).toBe(report.current.deploys);
    expect(deliveryCaption(report)).toBe(
      [
        '📦 <b>production</b>, last 30 days (against the 30 before; bands: 2021 Accelerate State of DevOps report):',
        '<b>Deploys</b>: 8 (1.9 a week) ▲ from 2 · <i>high</i>',
        '<b>Lead time</b>: 10 h 0 min, median of 3 ▲ from 4 h 0 min · <i>high</i>',
        '  1 promoted deploy without the first commit’s time (promoted before lugh recorded it): not in the lead time',
        '<b>Change failure rate</b>: 44 % (4 of 9) ▲ from 33 % · <i>low</i>',
        '  1 change followed within a day by one without its commit’s title (not promoted, or before lugh recorded it): not judged as fix-forwards',
        '<b>Time to restore</b>: 3 h 30 min, median of 4 ▼ from 5 d 0 h · <i>high</i>',
      ].join('\n'),
    );
  });
});

// A failed change is also one fixed within 24 h, before the next change, by a /restore of the
// environment's database, or by the next change itself when its head commit is a fix or a
// revert (a fix-forward; titles are recorded for promoted deploys). A history of its own,
// worked out by hand: production, the 30 days before NOW.
describe('delivery figures: restores and fix-forwards (SQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let figures: ReturnType<typeof deliveryFigures>;
  const at = (t: Date, plus: number) => new Date(t.getTime() + plus);
  const deploy = (trigger: 'promotion' | 'push' | 'manual', finished: Date, title?: string) =>
    pool.query(
      `INSERT INTO deployments (env, ref, sha, trigger, status, created_at, started_at, finished_at, head_title)
       VALUES ('production', 'main', $1, $2, 'succeeded', $3, $3, $4, $5)`,
      ['b'.repeat(40), trigger, new Date(finished.getTime() - 5 * 60_000), finished, title ?? null],
    );
  const restore = (when: Date, outcome = 'ok', env = 'production') =>
    pool.query(
      `INSERT INTO audit_log (at, env, actor_id, action, outcome, details) VALUES ($1, $2, 1, '/restore', $3, '{}')`,
      [when, env, outcome],
    );

  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'delivery-fixes-test');
    figures = deliveryFigures(pool);
    const P = ago(20 * D);
    const Q = ago(19 * D);
    const R = ago(15 * D);
    const S = at(R, 2 * H);
    const T = ago(10 * D);
    const U = at(T, 6 * H);
    const V = ago(5 * D);
    const W = at(V, 4 * H);
    const X = ago(3 * D);
    const Y = at(X, 2 * H);
    await deploy('promotion', P, 'Add the export page'); // P: /restore 3 h later, before Q: failed, restored in 3 h
    await restore(at(P, 3 * H));
    await deploy('promotion', Q, 'feat: export as CSV'); // Q: its /restore came 30 h later (after the window): not failed
    await restore(at(Q, 30 * H));
    await deploy('promotion', R, 'Add the search box'); // R: S came 2 h later without a title: untitled; the /restore is after S: not R's
    await deploy('push', S); // S: /restore 3 h later, before T: failed, restored in 3 h
    await restore(at(S, 3 * H));
    await deploy('promotion', T, 'Add the search results'); // T: U, 6 h later, is a fix: failed, restored by U in 6 h
    await deploy('promotion', U, 'fix(search): an empty query'); // U: V 5 days later: not failed
    await deploy('promotion', V, 'feat: the monthly report'); // V: W, 4 h later, reverts it: failed, restored in 4 h
    await deploy('promotion', W, 'Revert "feat: the monthly report"'); // W: a refused /restore and staging's do not count
    await restore(at(W, H), 'refused');
    await restore(at(W, 2 * H), 'ok', 'staging');
    await deploy('promotion', X, 'Add graphs'); // X: Y, 2 h later, is a feature ("Fixtures" is no fix): not failed
    await deploy('promotion', Y, 'Fixtures for the demo'); // Y: nothing after it
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('counts a /restore within the window before the next change, and a fix or revert that comes next, as failures', async () => {
    const [, current] = await figures.deliveryPeriods('production', ago(60 * D), 30 * D, 2);
    expect(current).toMatchObject({
      deploys: 10, // P Q R S T U V W X Y
      changes: 10,
      failures: 4, // P (restore), S (restore), T (fix-forward U), V (revert W)
      restoreSeconds: 12_600, // median of 3 h, 3 h, 6 h, 4 h
      restoreCount: 4,
      unrestored: 0,
      untitledNext: 1, // R
    });
  });

  it('a /restore after the window or after the next change, and a feature commit next, fail nothing', async () => {
    // Each alone: the day after Q (its restore 30 h later), R to S (the restore after S), X to Y.
    const periods = await figures.deliveryPeriods('production', ago(20 * D), D, 20);
    const day = (d: Date) => periods.find((p) => p.from <= d && d < p.to)!;
    expect(day(ago(19 * D))).toMatchObject({ changes: 1, failures: 0 }); // Q
    expect(day(ago(15 * D))).toMatchObject({ changes: 2, failures: 1, untitledNext: 1 }); // R not, S yes
    expect(day(ago(3 * D))).toMatchObject({ changes: 2, failures: 0 }); // X, Y
    expect(day(ago(5 * D))).toMatchObject({ changes: 2, failures: 1 }); // V failed, W not (refused and staging restores)
  });
});
