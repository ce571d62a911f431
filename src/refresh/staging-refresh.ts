// Production's whole /refresh staging: one refresh at a time (a lock), the anonymised
// dump (prepare-dump.ts) and then its signed handoff into REFRESH_DIR (mailbox.ts), and
// staging's status file followed until it reports. REFRESH_DIR is the only channel: the two
// environments share no network. The files are removed when staging reports an end, whatever
// the outcome, or when staging does not pick the handoff up in time.
import type { LockStore } from '../store/locks.js';
import type { ApplyStep } from './apply-steps.js';
import { RefreshRefusedError } from './errors.js';
import {
  MalformedStatusError,
  mailboxFile,
  type RefreshStatus,
  readStatus,
  removeFiles,
  writeAtomic,
} from './mailbox.js';
import { type PrepareOptions, type PrepareStep, prepareRefreshDump } from './prepare-dump.js';

/** The production lock that keeps refreshes one at a time. */
export const REFRESH_LOCK = 'refresh:staging';

/** How long staging has to claim a handoff before production gives up on it. */
export const PICKUP_MS = 2 * 60_000;

/** What production says when staging never claimed the handoff. */
export const NO_PICKUP =
  'staging did not pick up the refresh within 2 min: is FEATURE_STAGING_REFRESH on there, and does it mount the same REFRESH_DIR?';

export type RefreshProgress =
  | { readonly side: 'production'; readonly step: PrepareStep; readonly detail?: string }
  | { readonly side: 'staging'; readonly step: ApplyStep };

/** Production's way to run one refresh with the instance's settings (what /refresh staging calls). */
export interface RefreshControl {
  run(requestedBy: string, onProgress: (p: RefreshProgress) => Promise<void>): Promise<StagingRefreshResult>;
}

export interface StagingRefreshOptions {
  /** Everything production's steps need but the output directory and the progress callback. */
  readonly prepare: Omit<PrepareOptions, 'outDir' | 'onStep'>;
  /** REFRESH_DIR, mounted by both instances at the same path. */
  readonly dir: string;
  readonly locks: LockStore;
  /** How often staging's status file is read. */
  readonly pollMs?: number;
  /** How long staging may take to claim the handoff (PICKUP_MS; tests shorten it). */
  readonly pickupMs?: number;
  /** How long staging may take before production stops waiting (the refresh may still end there). */
  readonly timeoutMs?: number;
}

export interface StagingRefreshResult {
  readonly source: string;
  readonly status: Extract<RefreshStatus, { state: 'done' }>;
  readonly sourceCommit: string;
}

export async function refreshStaging(
  options: StagingRefreshOptions,
  requestedBy: string,
  onProgress: (p: RefreshProgress) => Promise<void> = async () => {},
): Promise<StagingRefreshResult> {
  const owner = `refresh:${requestedBy}:${Date.now()}`;
  const taken = await options.locks.acquire({
    name: REFRESH_LOCK,
    owner,
    reason: `/refresh staging by ${requestedBy}`,
    ttlMs: options.timeoutMs ?? 60 * 60_000,
  });
  if (!taken.acquired)
    throw new RefreshRefusedError(
      `a refresh of staging is running already (${taken.holder.reason}, since ${taken.holder.acquiredAt.toISOString().slice(11, 16)} UTC); wait for its report`,
    );
  let nonce: string | undefined;
  try {
    const prepared = await prepareRefreshDump({
      ...options.prepare,
      outDir: options.dir,
      onStep: (step, detail) => onProgress({ side: 'production', step, detail }),
    });
    nonce = prepared.handoff.nonce;
    // Last: its presence tells staging the dump beside it is whole.
    writeAtomic(options.dir, mailboxFile.handoff(nonce), `${JSON.stringify(prepared.handoff)}\n`);
    const status = await follow(options, nonce, onProgress);
    return { source: prepared.source, status, sourceCommit: prepared.handoff.sourceCommit };
  } finally {
    if (nonce) removeFiles(options.dir, nonce);
    await options.locks.release(REFRESH_LOCK, owner).catch(() => false);
  }
}

/** Reads staging's status file until it says `done` (returned) or `failed` (thrown). */
async function follow(
  options: StagingRefreshOptions,
  nonce: string,
  onProgress: (p: RefreshProgress) => Promise<void>,
): Promise<Extract<RefreshStatus, { state: 'done' }>> {
  const read = () => {
    try {
      return readStatus(options.dir, nonce);
    } catch (error) {
      if (error instanceof MalformedStatusError) throw new RefreshRefusedError(error.message);
      throw error;
    }
  };
  const started = Date.now();
  let lastStep: ApplyStep | undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2_000));
    let status = read();
    if (!status && Date.now() - started > (options.pickupMs ?? PICKUP_MS)) {
      // The handoff first, so staging cannot claim it any more; then one last look.
      removeFiles(options.dir, nonce, ['handoff']);
      status = read();
      if (!status) throw new RefreshRefusedError(NO_PICKUP);
    }
    if (status?.state === 'done') return status;
    if (status?.state === 'failed') throw new RefreshRefusedError(`staging: ${status.message}`);
    if (status && status.step !== lastStep) {
      lastStep = status.step;
      await onProgress({ side: 'staging', step: status.step });
    }
    if (Date.now() - started > (options.timeoutMs ?? 60 * 60_000))
      throw new RefreshRefusedError(
        'staging has not finished within the hour; see staging’s chat for its report',
      );
  }
}
