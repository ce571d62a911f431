// Staging's side of /refresh staging: every 2 s it looks in REFRESH_DIR (mailbox.ts) for a
// handoff it has not answered, claims it (its status file), verifies and applies it
// (apply-dump.ts), writing each step, then `done` or `failed`, to the status file that
// production follows. A bad handoff is answered there too, so production's chat says why.
// Its state is in the files and the database, not in memory: a `running` status nobody keeps
// fresh (its process died) is ended by recover-refresh.ts. Only the dump moves: staging
// never learns anything of production but what the handoff signs.
import { statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { type AppliedRefresh, type ApplyOptions, applyRefreshDump } from './apply-dump.js';
import type { ApplyStep } from './apply-steps.js';
import {
  claimHandoff,
  listStatuses,
  listUnclaimed,
  mailboxFile,
  type RefreshStatus,
  readHandoff,
  readStatus,
  writeStatus,
} from './mailbox.js';
import { RecoveryNotYetError, recoverRefresh } from './recover-refresh.js';

/** Text for an HTML chat message. */
export const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** How often staging looks in REFRESH_DIR. */
export const MAILBOX_POLL_MS = 2_000;
/** A `running` status untouched this long belongs to a process that died. */
export const STALE_STATUS_MS = 20_000;
/** Recovery attempts that cannot decide before the refresh is ended as failed. */
const RECOVERY_TRIES = 3;

export interface RefreshMailboxOptions {
  /** REFRESH_DIR, mounted by both instances. */
  readonly dir: string;
  readonly verifyKey: string | undefined;
  /** Everything of applyRefreshDump but the dump, the handoff, the key and the callbacks. */
  readonly apply: Omit<ApplyOptions, 'dumpFile' | 'handoff' | 'verifyKey' | 'onStep' | 'onApplied'>;
  /** Staging's own chat report when a refresh ends (HTML). */
  readonly report?: (html: string) => Promise<void>;
  readonly logger?: Pick<Logger, 'warn'>;
  /** After each step is written to the status file (fault tests stop the process here). */
  readonly afterStep?: (nonce: string, step: ApplyStep) => Promise<void>;
  readonly pollMs?: number;
  readonly staleMs?: number;
  readonly now?: () => Date;
}

/** Staging's report of a finished refresh (HTML). */
export function appliedText(
  applied: Pick<AppliedRefresh, 'rows' | 'backup'>,
  source: string,
  ms: number,
): string {
  const rows = Object.entries(applied.rows)
    .map(([t, n]) => `${escapeText(t)} ${n}`)
    .join(', ');
  return `staging now holds production’s anonymised data (rules at ${source.slice(0, 7)}) after ${Math.round(ms / 1000)} s: ${rows || 'no tables'}. Staging’s data before it: <code>${escapeText(applied.backup)}</code> in LUGH_HOME/backups.`;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createRefreshMailbox(options: RefreshMailboxOptions) {
  const now = options.now ?? (() => new Date());
  const { dir } = options;
  let current: string | undefined;
  let polling: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Set by stop(): a refresh still being applied is left `running` for the next staging to end. */
  let stopping = false;
  /** Recovery attempts that could not yet decide, by nonce (the third ends the refresh as failed). */
  const undecided = new Map<string, number>();
  let lastPollError: string | undefined;

  const stepWriter = (nonce: string, startedAt: string) => {
    let backup: string | undefined;
    return async (step: ApplyStep, detail?: { backup?: string }) => {
      backup = detail?.backup ?? backup;
      writeStatus(dir, nonce, { state: 'running', step, startedAt, ...(backup ? { backup } : {}) });
      await options.afterStep?.(nonce, step);
    };
  };

  async function end(nonce: string, startedAt: string, outcome: AppliedRefresh | Error, source?: string) {
    if (outcome instanceof Error) {
      writeStatus(dir, nonce, { state: 'failed', message: outcome.message });
      await options
        .report?.(`❌ The refresh from production failed: ${escapeText(outcome.message)}`)
        .catch(() => {});
      return;
    }
    const ms = now().getTime() - Date.parse(startedAt);
    writeStatus(dir, nonce, { state: 'done', rows: { ...outcome.rows }, backup: outcome.backup, ms });
    await options
      .report?.(`✅ ${appliedText(outcome, source ?? outcome.claims.sourceCommit, ms)}`)
      .catch(() => {});
  }

  async function apply(nonce: string, handoff: unknown): Promise<void> {
    const startedAt = now().toISOString();
    if (!claimHandoff(dir, nonce, now())) return;
    current = nonce;
    let ended = false;
    try {
      if (!options.verifyKey)
        throw new Error(
          'REFRESH_VERIFY_KEY is not set on staging: `lugh keys` prints a pair; put its line in .env.staging.local. Staging was not changed',
        );
      const claimed = (handoff as { nonce?: unknown } | null)?.nonce;
      if (handoff !== undefined && handoff !== null && claimed !== nonce)
        throw new Error(
          `refused the refresh: ${mailboxFile.handoff(nonce)} carries another nonce; staging was not changed`,
        );
      await applyRefreshDump({
        ...options.apply,
        dumpFile: path.join(dir, mailboxFile.dump(nonce)),
        handoff: handoff ?? null,
        verifyKey: options.verifyKey,
        onStep: stepWriter(nonce, startedAt),
        // `done` before the lock is released: a crash in between leaves no doubt.
        onApplied: async (applied) => {
          await end(nonce, startedAt, applied);
          ended = true;
        },
      });
    } catch (error) {
      // Shutting down (the pool closes under it): no verdict; the next staging recovers it.
      if (!ended && !stopping) await end(nonce, startedAt, new Error(messageOf(error)));
    } finally {
      current = undefined;
    }
  }

  async function recover(nonce: string, status: Extract<RefreshStatus, { state: 'running' }>) {
    current = nonce;
    try {
      const handoff = readHandoff(dir, nonce);
      const result = await recoverRefresh({
        ...options.apply,
        verifyKey: options.verifyKey,
        nonce,
        handoff,
        status,
        onStep: stepWriter(nonce, status.startedAt),
      });
      if (result.outcome === 'applied') await end(nonce, status.startedAt, result.applied);
      else await end(nonce, status.startedAt, new Error(result.message));
    } catch (error) {
      if (stopping) return;
      const tries = (undecided.get(nonce) ?? 0) + 1;
      undecided.set(nonce, tries);
      if (error instanceof RecoveryNotYetError && tries < RECOVERY_TRIES) {
        // Left `running`: it goes stale again and is retried; the lock stays held meanwhile.
        options.logger?.warn(
          { nonce, error: messageOf(error), tries },
          'refresh mailbox: recovery undecided, will retry',
        );
        return;
      }
      undecided.delete(nonce);
      await end(
        nonce,
        status.startedAt,
        new Error(
          error instanceof RecoveryNotYetError
            ? `staging restarted mid-refresh and could not tell after ${tries} tries whether the restore committed (${messageOf(error)}): staging's deploy lock stays held until it expires (30 min); then check staging with /status and /doctor, and ask /refresh staging again`
            : `staging restarted mid-refresh and could not end it: ${messageOf(error)}`,
        ),
      );
    } finally {
      current = undefined;
    }
  }

  /** One look at the directory: orphaned `running` statuses first, then one new handoff. */
  async function pollOnce(): Promise<void> {
    for (const nonce of listStatuses(dir)) {
      let status: RefreshStatus | undefined;
      let age: number;
      try {
        status = readStatus(dir, nonce);
        age = now().getTime() - statSync(path.join(dir, mailboxFile.status(nonce))).mtimeMs;
      } catch {
        continue;
      }
      if (status?.state === 'running' && age >= (options.staleMs ?? STALE_STATUS_MS))
        await recover(nonce, status);
    }
    const [next] = listUnclaimed(dir);
    if (next) await apply(next, readHandoff(dir, next));
  }

  const poll = (): Promise<void> => {
    polling ??= pollOnce()
      .then(() => {
        lastPollError = undefined;
      })
      .catch((error: unknown) => {
        // Once per distinct error (a missing or unwritable REFRESH_DIR fails every poll).
        const message = messageOf(error);
        if (message === lastPollError) return;
        lastPollError = message;
        options.logger?.warn(
          { error: message, dir },
          'refresh mailbox: poll failed (is REFRESH_DIR there and writable by lugh, uid 10001? deploy/bootstrap.sh makes it)',
        );
      })
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };

  const tick = () => {
    // Keeps this process's `running` status fresh, so no other staging takes it for orphaned.
    if (current) {
      const t = now();
      try {
        utimesSync(path.join(dir, mailboxFile.status(current)), t, t);
      } catch {}
    }
    if (!stopping) void poll();
  };

  return {
    poll,
    start(): void {
      timer ??= setInterval(tick, options.pollMs ?? MAILBOX_POLL_MS);
      timer.unref?.();
      tick();
    },
    async stop(): Promise<void> {
      // No new poll; the ticks keep a refresh being applied fresh until it ends, so no other
      // staging takes it for orphaned meanwhile.
      stopping = true;
      await polling;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

export type RefreshMailbox = ReturnType<typeof createRefreshMailbox>;
