import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
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
  /** Refreshes one promotion's CI soon, once, however often it is asked. */
  schedule(id: number): Promise<void>;
  /** Waits for every refresh and decision under way in this process. */
  drain(): Promise<void>;
}

/** The shared parts; `refresh` is the CI look that `schedule` runs. */
export function createPromotionParts(
  deps: PromotionServiceDeps,
  refresh: (id: number) => Promise<void>,
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
  const pending = new Set<number>();
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
    schedule: (id) => {
      if (pending.has(id)) return Promise.resolve();
      pending.add(id);
      return serialized(id, async () => {
        pending.delete(id);
        try {
          await refresh(id);
        } catch (error) {
          // Transient GitHub trouble: the promotion stays waiting and the next poll tries again.
          log.warn({ err: error, promotionId: id }, 'could not refresh CI');
        }
      });
    },
  };
}
