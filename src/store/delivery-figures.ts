// The four DORA figures (/delivery) in one SQL statement over what the deploy engine records.
// The definitions (README, "Delivery metrics"):
// - a deploy: a deployment of a change (trigger promotion, push or manual; the whole
//   environment) whose version ran (RAN below: it succeeded, or failed after its verify
//   passed), counted in the period its finish falls in. Rollbacks, the baseline and a
//   rollback of one service alone are no deploys.
// - a change: a deploy, or a deployment of a change that lugh rolled back on its own
//   (status rolled_back). A deploy that failed before it ran changed nothing: not counted.
// - a failed change: rolled back by lugh, or followed within `fixHours` of its finish by
//   - a /rollback (any status but cancelled or unconfirmed) asked before the next change;
//   - a /restore of the environment's database that succeeded before the next change (a
//     restore is a fix of what the change broke; the audit log's `/restore` `ok` row);
//   - a fix-forward: the next change finished within `fixHours`, its head commit's title
//     (recorded for promoted deploys only: migration 0032) a fix or a revert (FIX_FORWARD).
//   A change whose next change within `fixHours` has no title is not a fix-forward, counted apart.
// - restored: the first deployment whose version ran (any trigger, a /rollback too) that
//   finished after the failed change, or the /restore that failed it when earlier; time to
//   restore runs from the change's finish to then.
// - lead time: from the oldest commit a promotion shipped (`first_commit_at`) to the finish
//   of the deploy it became; promoted deploys without that time are counted apart.
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

/** The figures of one period (a bucket of the chart, or the whole window). */
export interface DeliveryPeriod {
  readonly from: Date;
  readonly to: Date;
  /** Deploys whose version ran. */
  readonly deploys: number;
  /** Deploys plus the changes lugh rolled back on its own: change failure rate's denominator. */
  readonly changes: number;
  readonly failures: number;
  /** Median lead time in seconds over `leadCount` promoted deploys; null when none. */
  readonly leadSeconds: number | null;
  readonly leadCount: number;
  /** Promoted deploys whose promotion did not record its first commit's time. */
  readonly leadMissing: number;
  /** Median time to restore in seconds over the failures restored; null when none. */
  readonly restoreSeconds: number | null;
  readonly restoreCount: number;
  /** Failures not followed by any deployment that ran (yet). */
  readonly unrestored: number;
  /** Changes whose next change, within the fix window, has no recorded head title: not judged as fix-forwards. */
  readonly untitledNext: number;
}

/** A /rollback, /restore or fix-forward this long after a change's finish makes it a failed change. */
export const FIX_WINDOW_HOURS = 24;

/**
 * A fix-forward's head commit title (case-insensitive, Postgres' ARE: `\M` ends a word):
 * `fix…`, `hotfix…`, `revert…` as a word at its start, so conventional commits' `fix:`,
 * `fix(scope):`, `fix!:`, and git's `Revert "…"`; not `Fixture…` or `fixes`.
 */
export const FIX_FORWARD = '^(fix|hotfix|revert)\\M';

/** Whether deployment `d` ran (see the top); SQL over the alias given. */
const ran = (d: string) => `(${d}.status = 'succeeded' OR (${d}.status = 'failed' AND EXISTS (SELECT 1
  FROM deployment_steps s WHERE s.deployment_id = ${d}.id AND s.step = 'verify' AND s.status = 'succeeded')))`;
/** Whether deployment `d` is a change (see the top), besides its finish and environment. */
const change = (d: string) => `(${d}.only_service IS NULL AND ${d}.trigger IN ('promotion', 'push', 'manual')
  AND (${d}.status = 'rolled_back' OR ${ran(d)}))`;

// Only the changes of the periods asked are judged; what follows each (the next change, the
// deployment that restored it) is found through deployments_env_finished_idx, however late.
const SQL = `
WITH buckets AS (
  SELECT b, $2::timestamptz + make_interval(secs => $3::double precision * b) AS lo,
            $2::timestamptz + make_interval(secs => $3::double precision * (b + 1)) AS hi
  FROM generate_series(0, $4::int - 1) AS b
),
changes AS (
  SELECT d.id, d.status, d.trigger, d.finished_at, d.first_commit_at, ${ran('d')} AS ran
  FROM deployments d
  WHERE d.env = $1 AND d.finished_at >= $2::timestamptz
    AND d.finished_at < $2::timestamptz + make_interval(secs => $3::double precision * $4::int) AND ${change('d')}
),
judged AS (
  SELECT c.*,
    (c.status = 'rolled_back' OR EXISTS (
      SELECT 1 FROM deployments r
      WHERE r.env = $1 AND r.trigger = 'rollback' AND r.status NOT IN ('cancelled', 'awaiting_confirmation')
        AND r.created_at >= c.finished_at AND r.created_at < c.finished_at + make_interval(hours => $5::int)
        AND (nxt.finished_at IS NULL OR r.created_at < nxt.finished_at)
    ) OR fix.at IS NOT NULL OR (soon AND nxt.head_title ~* $6)) AS failed,
    (soon AND nxt.head_title IS NULL) AS untitled_next,
    LEAST(rst.finished_at, fix.at) AS restored_at
  FROM changes c
  LEFT JOIN LATERAL (
    SELECT n.finished_at, n.head_title FROM deployments n
    WHERE n.env = $1 AND n.finished_at > c.finished_at AND ${change('n')}
    ORDER BY n.finished_at LIMIT 1
  ) nxt ON true
  CROSS JOIN LATERAL (
    SELECT COALESCE(nxt.finished_at < c.finished_at + make_interval(hours => $5::int), false) AS soon
  ) w
  LEFT JOIN LATERAL (
    SELECT a.at FROM audit_log a
    WHERE a.env = $1 AND a.action = '/restore' AND a.outcome = 'ok'
      AND a.at >= c.finished_at AND a.at < c.finished_at + make_interval(hours => $5::int)
      AND (nxt.finished_at IS NULL OR a.at < nxt.finished_at)
    ORDER BY a.at LIMIT 1
  ) fix ON true
  LEFT JOIN LATERAL (
    SELECT n.finished_at FROM deployments n
    WHERE n.env = $1 AND n.finished_at > c.finished_at AND n.only_service IS NULL AND n.trigger <> 'baseline'
      AND ${ran('n')}
    ORDER BY n.finished_at LIMIT 1
  ) rst ON true
)
SELECT b.lo, b.hi,
  count(j.id) FILTER (WHERE j.ran) AS deploys,
  count(j.id) AS changes,
  count(j.id) FILTER (WHERE j.failed) AS failures,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.first_commit_at))
    FILTER (WHERE j.ran AND j.trigger = 'promotion' AND j.first_commit_at IS NOT NULL) AS lead_s,
  count(j.id) FILTER (WHERE j.ran AND j.trigger = 'promotion' AND j.first_commit_at IS NOT NULL) AS lead_count,
  count(j.id) FILTER (WHERE j.ran AND j.trigger = 'promotion' AND j.first_commit_at IS NULL) AS lead_missing,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.restored_at - j.finished_at))
    FILTER (WHERE j.failed AND j.restored_at IS NOT NULL) AS restore_s,
  count(j.id) FILTER (WHERE j.failed AND j.restored_at IS NOT NULL) AS restore_count,
  count(j.id) FILTER (WHERE j.failed AND j.restored_at IS NULL) AS unrestored,
  count(j.id) FILTER (WHERE j.untitled_next) AS untitled_next
FROM buckets b LEFT JOIN judged j ON j.finished_at >= b.lo AND j.finished_at < b.hi
GROUP BY b.b, b.lo, b.hi ORDER BY b.b`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The delivery figures' reads: one statement, asked per bucket series. */
export function deliveryFigures(pool: Pool) {
  return {
    /**
     * `count` consecutive periods of `periodMs` each from `from`, oldest first, each with its
     * figures (a change belongs to the period its finish falls in: [from, to)).
     */
    async deliveryPeriods(
      env: AppEnv,
      from: Date,
      periodMs: number,
      count: number,
      fixHours = FIX_WINDOW_HOURS,
    ): Promise<DeliveryPeriod[]> {
      const { rows } = await pool.query(SQL, [env, from, periodMs / 1000, count, fixHours, FIX_FORWARD]);
      return rows.map((r) => ({
        from: r.lo as Date,
        to: r.hi as Date,
        deploys: Number(r.deploys),
        changes: Number(r.changes),
        failures: Number(r.failures),
        leadSeconds: num(r.lead_s),
        leadCount: Number(r.lead_count),
        leadMissing: Number(r.lead_missing),
        restoreSeconds: num(r.restore_s),
        restoreCount: Number(r.restore_count),
        unrestored: Number(r.unrestored),
        untitledNext: Number(r.untitled_next),
      }));
    },
  };
}
