import type { Config } from '../config/index.js';
import type { CheckLine, Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { HeldLock } from '../store/locks.js';
import type { PromotionStore } from '../store/promotions.js';
import type { PromotionChat, Requester } from './notices.js';

export interface PromotionServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Absent when GITHUB_TOKEN or GITHUB_REPO is not configured. */
  readonly forge?: Forge;
  readonly promotions: PromotionStore;
  /** Production's deploy lock, as the production instance publishes it. */
  readonly productionLock: () => Promise<HeldLock | undefined>;
  /** The production bot's @username, once its instance has started. */
  readonly productionBot?: () => Promise<string | undefined>;
  /**
   * Whom the production bot cannot write to (admins who never opened a chat with it), as
   * its instance publishes it in Redis; undefined when it has not said.
   */
  readonly productionReach?: () => Promise<
    { readonly botUsername: string; readonly unreachableAdmins: readonly number[] } | undefined
  >;
  readonly audit: AuditLog;
  readonly chat: PromotionChat;
  /** PROMOTE_CHAT_IDS and the supergroups those groups became; the setting alone without it. */
  readonly promoteChatIds?: () => Promise<readonly number[]>;
  readonly now?: () => Date;
  /**
   * More reconciling the same poll runs after the promotions' (previews', issue #18): a
   * missed webhook only delays it. Its failure is logged, never the poll's end.
   */
  readonly alsoOnPoll?: () => Promise<void>;
}

/** What the stages of the promotion (CI, merge, handoff) share within one service. */
export interface PromotionParts {
  readonly deps: PromotionServiceDeps;
  readonly config: Config;
  readonly promotions: PromotionStore;
  readonly chat: PromotionChat;
  readonly log: Logger;
  now(): Date;
  record(
    actor: Requester | undefined,
    action: string,
    outcome: 'ok' | 'refused' | 'failed',
    details: Record<string, unknown>,
  ): Promise<void>;
  /** The forge, or an error when none is configured (request() refuses before that). */
  requireForge(): Forge;
  /** Runs `work` after every earlier refresh or decision of promotion `id` in this process. */
  serialized<T>(id: number, work: () => Promise<T>): Promise<T>;
  /** True while this process works on promotion `id`. */
  busy(id: number): boolean;
  /**
   * Refreshes one promotion's CI soon, once, however often it is asked. `news` says what a
   * webhook said changed (only that is read again); without it everything is read.
   */
  schedule(id: number, news?: CiNews): Promise<void>;
  /** Waits for every refresh and decision under way in this process. */
  drain(): Promise<void>;
  /** A webhook about promotion `id` arrived now: the reconciling poll leaves it to them a while. */
  heard(id: number): void;
  /** When a webhook about promotion `id` last arrived (ms), unless its look failed since. */
  lastHeard(id: number): number | undefined;
  /** The poll looks at promotion `id` again on its own cadence (a look failed, or gave up for now). */
  unheard(id: number): void;
}

/**
 * What a GitHub webhook says changed for a promotion: its pull request (opened, edited,
 * synchronized, closed…) or its CI (a check run, suite or commit status).
 */
export interface CiNews {
  readonly pull: boolean;
  readonly ci: boolean;
  /**
   * The checks the webhooks reported (CI read from them, not from GitHub, while it runs;
   * none: read CI only when nothing is known of it yet); undefined with `ci`: read CI from GitHub.
   */
  readonly lines?: readonly CheckLine[];
  /**
   * The promotion's first look: when nothing is known of CI yet, the pull request and CI in
   * one read (asking GitHub for mergeability early); when a webhook's look read them first (a
   * check reported before it ran), nothing more than its lines.
   */
  readonly opening?: boolean;
}

/** Two asks for a refresh that is still to run make one that reads what either needed. */
function joinNews(a: CiNews | undefined, b: CiNews | undefined): CiNews | undefined {
  if (!a || !b) return undefined;
  const readCi = (n: CiNews) => n.ci && !n.lines;
  const lines = readCi(a) || readCi(b) ? undefined : [...(a.lines ?? []), ...(b.lines ?? [])];
  const opening = a.opening === true || b.opening === true;
  return {
    pull: a.pull || b.pull,
    ci: a.ci || b.ci,
    ...(lines ? { lines } : {}),
    ...(opening ? { opening } : {}),
  };
}

/** The shared parts; `refresh` is the CI look that `schedule` runs. */
export function createPromotionParts(
  deps: PromotionServiceDeps,
  refresh: (id: number, news?: CiNews) => Promise<void>,
): PromotionParts {
  const log = deps.logger.child({ component: 'promotion' });
  const chains = new Map<number, Promise<unknown>>();
  const serialized = <T>(id: number, work: () => Promise<T>): Promise<T> => {
    const previous = chains.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    chains.set(id, next);
    const forget = () => {
      if (chains.get(id) === next) chains.delete(id);
    };
    // Not `finally`: its promise would reject with `next` and nobody handles it (the caller handles `next`).
    next.then(forget, forget);
    return next;
  };
  const heardAt = new Map<number, number>();
  /** Refreshes asked for and not started yet, with what they are to read. */
  const pending = new Map<number, CiNews | undefined>();
  return {
    deps,
    config: deps.config,
    promotions: deps.promotions,
    chat: deps.chat,
    log,
    now: deps.now ?? (() => new Date()),
    record: (actor, action, outcome, details) =>
      deps.audit.record({ actorId: actor?.id, actorName: actor?.name, action, outcome, details }),
    requireForge: () => {
      if (!deps.forge) throw new Error('GitHub is not configured');
      return deps.forge;
    },
    serialized,
    busy: (id) => chains.has(id),
    drain: async () => {
      await Promise.allSettled([...chains.values()]);
    },
    heard: (id) => heardAt.set(id, Date.now()),
    lastHeard: (id) => heardAt.get(id),
    unheard: (id) => heardAt.delete(id),
    schedule: (id, news) => {
      if (pending.has(id)) {
        pending.set(id, joinNews(pending.get(id), news));
        return Promise.resolve();
      }
      pending.set(id, news);
      return serialized(id, async () => {
        const asked = pending.get(id);
        pending.delete(id);
        try {
          await refresh(id, asked);
        } catch (error) {
          // Transient GitHub trouble: the promotion stays waiting and the next poll tries again.
          heardAt.delete(id);
          log.warn({ err: error, promotionId: id }, 'could not refresh CI');
        }
      });
    },
  };
}
