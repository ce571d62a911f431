// The previews table (migration 0022): one row per pull request that has or had a preview,
// per namespace. Every change that asks for work bumps `generation`; a job queued for an
// older generation finds the row moved on and does nothing (previews/preview-queue.ts).
// The row's shape is previews/preview.ts's PreviewRecord (the store imports no part above
// it, so the shape is written out here; the service assigns one to the other, and the
// compiler checks they agree).
import type { Pool } from './pool.js';

/** previews/preview.ts's PreviewState. */
export type PreviewRowState =
  | 'queued'
  | 'building'
  | 'migrating'
  | 'starting'
  | 'running'
  | 'failed'
  | 'stopped'
  | 'closed';

/** A preview's row: previews/preview.ts's PreviewRecord plus what only the lifecycle needs. */
export interface PreviewRow {
  readonly pr: number;
  readonly state: PreviewRowState;
  readonly headSha: string;
  readonly headRef: string;
  readonly runningSha?: string;
  readonly author: string;
  readonly fork: boolean;
  readonly url?: string;
  readonly reason?: string;
  readonly commentId?: number;
  readonly forgeDeploymentId?: number;
  readonly createdAt: Date;
  readonly lastPushAt: Date;
  readonly updatedAt: Date;
  /** Counts the requests made of this preview; a job names the one it was queued for. */
  readonly generation: number;
  /** A fork's head an admin asked to build. */
  readonly approvedSha?: string;
  /** Who stopped it from chat, if an admin did. */
  readonly stoppedBy?: string;
  /** The head the forge deployment (`forgeDeploymentId`) is for. */
  readonly forgeDeploymentSha?: string;
}

/** What a pull_request delivery or the poll says of a pull request's head. */
export interface PreviewHead {
  readonly pr: number;
  readonly headSha: string;
  readonly headRef: string;
  readonly author: string;
  readonly fork: boolean;
}

const COLUMNS = `pr, state, head_sha, head_ref, running_sha, author, fork, approved_sha, url, reason, stopped_by,
  comment_id, forge_deployment_id, forge_deployment_sha, generation, created_at, last_push_at, updated_at`;

type Row = Record<string, unknown>;

function toRecord(r: Row): PreviewRow {
  const opt = <T>(v: unknown, f: (x: unknown) => T): T | undefined =>
    v === null || v === undefined ? undefined : f(v);
  return {
    pr: Number(r.pr),
    state: r.state as PreviewRowState,
    headSha: String(r.head_sha),
    headRef: String(r.head_ref),
    runningSha: opt(r.running_sha, String),
    author: String(r.author),
    fork: Boolean(r.fork),
    approvedSha: opt(r.approved_sha, String),
    url: opt(r.url, String),
    reason: opt(r.reason, String),
    stoppedBy: opt(r.stopped_by, String),
    commentId: opt(r.comment_id, Number),
    forgeDeploymentId: opt(r.forge_deployment_id, Number),
    forgeDeploymentSha: opt(r.forge_deployment_sha, String),
    generation: Number(r.generation),
    createdAt: r.created_at as Date,
    lastPushAt: r.last_push_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

/** The fields a job or a request may change at once (undefined: unchanged; null: cleared). */
export interface PreviewChange {
  readonly state?: PreviewRowState;
  readonly runningSha?: string | null;
  readonly url?: string | null;
  readonly reason?: string | null;
  readonly stoppedBy?: string | null;
  readonly approvedSha?: string | null;
  readonly commentId?: number;
  readonly forgeDeploymentId?: number | null;
  readonly forgeDeploymentSha?: string | null;
}

const CHANGE_COLUMNS: Record<keyof PreviewChange, string> = {
  state: 'state',
  runningSha: 'running_sha',
  url: 'url',
  reason: 'reason',
  stoppedBy: 'stopped_by',
  approvedSha: 'approved_sha',
  commentId: 'comment_id',
  forgeDeploymentId: 'forge_deployment_id',
  forgeDeploymentSha: 'forge_deployment_sha',
};

/** The previews of one namespace (`''` for a real lugh's). */
export function createPreviewStore(pool: Pool, namespace = '') {
  return {
    async get(pr: number): Promise<PreviewRow | undefined> {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM previews WHERE namespace = $1 AND pr = $2`, [
        namespace,
        pr,
      ]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    /** Every row, closed ones too, oldest first. */
    async all(): Promise<PreviewRow[]> {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM previews WHERE namespace = $1 ORDER BY created_at, pr`,
        [namespace],
      );
      return rows.map(toRecord);
    },

    /**
     * A pull request's head asks for a preview (`state` queued, or stopped with `reason` for
     * a fork's that waits for an admin). Inserts the row or moves it to the new head, a new
     * generation, the push's time; returns the row. `lastPushAt` moves only when the head does,
     * or the row was closed (a reopened PR starts its TTL afresh, whatever its head).
     */
    async request(
      head: PreviewHead,
      state: PreviewRowState,
      reason: string | null,
      at: Date,
      /** An admin's start or redeploy: counts as a push for the TTL and the cap. */
      touch = false,
    ): Promise<PreviewRow> {
      const { rows } = await pool.query(
        `INSERT INTO previews (namespace, pr, state, head_sha, head_ref, author, fork, reason, last_push_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)
         ON CONFLICT (namespace, pr) DO UPDATE SET
           state = EXCLUDED.state, head_ref = EXCLUDED.head_ref, author = EXCLUDED.author, fork = EXCLUDED.fork,
           reason = EXCLUDED.reason, stopped_by = NULL,
           last_push_at = CASE WHEN previews.head_sha = EXCLUDED.head_sha AND previews.state <> 'closed' AND NOT $10 THEN previews.last_push_at ELSE EXCLUDED.last_push_at END,
           head_sha = EXCLUDED.head_sha,
           generation = previews.generation + 1, updated_at = EXCLUDED.updated_at
         RETURNING ${COLUMNS}`,
        [namespace, head.pr, state, head.headSha, head.headRef, head.author, head.fork, reason, at, touch],
      );
      return toRecord(rows[0]);
    },

    /** A new request of the row as it is (start, redeploy, stop, close): a new generation, `change` applied. */
    async bump(pr: number, change: PreviewChange, at: Date = new Date()): Promise<PreviewRow | undefined> {
      return update(pr, change, at, true);
    },

    /**
     * A job's progress: applied only while the row is at `generation` (a newer request wins);
     * undefined when it has moved on.
     */
    async advance(pr: number, generation: number, change: PreviewChange): Promise<PreviewRow | undefined> {
      return update(pr, change, new Date(), false, generation);
    },

    /** Changes the row whatever its generation (the comment's and deployment's ids). */
    async set(pr: number, change: PreviewChange): Promise<PreviewRow | undefined> {
      return update(pr, change, new Date(), false);
    },
  };

  async function update(
    pr: number,
    change: PreviewChange,
    at: Date,
    bump: boolean,
    generation?: number,
  ): Promise<PreviewRow | undefined> {
    const sets: string[] = ['updated_at = $3'];
    const values: unknown[] = [namespace, pr, at];
    for (const [key, column] of Object.entries(CHANGE_COLUMNS) as [keyof PreviewChange, string][]) {
      const value = change[key];
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
    if (bump) sets.push('generation = generation + 1');
    let where = 'namespace = $1 AND pr = $2';
    if (generation !== undefined) {
      values.push(generation);
      where += ` AND generation = $${values.length}`;
    }
    const { rows } = await pool.query(
      `UPDATE previews SET ${sets.join(', ')} WHERE ${where} RETURNING ${COLUMNS}`,
      values,
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }
}

export type PreviewStore = ReturnType<typeof createPreviewStore>;
