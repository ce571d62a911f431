import type { AppEnv } from '../config/environments.js';
import { withDeadline } from '../deadline.js';
import type { ContainerUsage } from '../deployer/container-facts.js';
import type { CiState, Comparison } from '../forge/forge.js';
import type { Deployment, ImageOrigin } from '../store/deployments.js';
import type { HeldLock } from '../store/locks.js';
import type { Promotion } from '../store/promotions.js';
import type { ServiceStatus } from './service-status.js';
import type { SwarmServiceStatus } from './swarm-status.js';
import type { VersionFacts } from './version-lookup.js';
import type { WebhookHistory } from './webhook-log.js';

/** One source's answer, or why there is none. */
export type Probe<T> =
  | {
      readonly ok: true;
      readonly value: T /** When the answer is an earlier one (see recentOr). */;
      readonly at?: Date;
    }
  | { readonly ok: false; readonly why: string };

/** Asks a source with its own deadline; a slow or failing one becomes "unknown — why". */
export async function probe<T>(work: () => Promise<T>, ms: number): Promise<Probe<T>> {
  try {
    return { ok: true, value: await withDeadline(work(), ms) };
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message : String(error) };
  }
}

/** An answer, and when it was had when it is an earlier one. */
export interface Dated<T> {
  readonly value: T;
  readonly at?: Date;
}

/**
 * A source asked afresh each time; when its answer takes longer than `softMs` and an
 * earlier answer younger than `keepMs` is at hand, that one is given (dated) instead, and
 * the fresh answer is kept for the next ask. GitHub's round trips then never set the pace
 * of /status, and what is shown says how old it is.
 */
export function recentOr<T>(
  work: () => Promise<T>,
  options: { softMs: number; keepMs: number; now?: () => Date },
): () => Promise<Dated<T>> {
  const now = options.now ?? (() => new Date());
  let last: { value: T; at: Date } | undefined;
  return async () => {
    const fresh = work().then((value) => {
      last = { value, at: now() };
      return { value };
    });
    fresh.catch(() => {});
    const kept = last && now().getTime() - last.at.getTime() <= options.keepMs ? last : undefined;
    if (!kept) return fresh;
    let timer: NodeJS.Timeout | undefined;
    const earlier = new Promise<Dated<T>>((resolve) => {
      timer = setTimeout(() => resolve(kept), options.softMs);
    });
    try {
      return await Promise.race([fresh, earlier]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Like probe, for a source that may answer with an earlier, dated answer (recentOr). */
export async function probeDated<T>(work: () => Promise<Dated<T>>, ms: number): Promise<Probe<T>> {
  const p = await probe(work, ms);
  return p.ok ? { ok: true, value: p.value.value, ...(p.value.at ? { at: p.value.at } : {}) } : p;
}

/** An app container as /status shows it: its state, Docker's health check and its usage. */
export type ContainerFacts = {
  readonly name: string;
  readonly state: string;
  readonly health?: string;
  /** When the usage was sampled (the background sampler's last pass). */
  readonly usageAt?: Date;
  /** The sampler's first pass over it is under way: usage comes in a moment, nothing failed. */
  readonly usagePending?: boolean;
} & ContainerUsage;

/** What an instance publishes about itself for the other one's /status (see instance-registry). */
export interface PublishedStatus {
  readonly env: AppEnv;
  readonly gitSha?: string;
  readonly startedAt: string;
  readonly container: string;
  readonly health: {
    readonly db: string;
    readonly redis: string;
    readonly telegram: string;
    readonly status: string;
  };
  readonly lock?: { readonly owner: string; readonly reason: string; readonly expiresAt: string };
  readonly deploying?: { readonly id: number; readonly step: string | null };
  /** Replicas per service its last succeeded deployment's set asks for (lugh.yml); none for one service. */
  readonly set?: Readonly<Record<string, number>>;
  readonly last?: {
    readonly id: number;
    readonly status: string;
    readonly sha: string | null;
    readonly trigger: string;
    readonly requestedBy: number | null;
    readonly at: string;
    /** A rollback of this one service of the set alone. */
    readonly onlyService?: string;
    /** Where its image came from, compared with staging (production's deploys). */
    readonly image?: {
      readonly kind: ImageOrigin['kind'];
      readonly fromEnv?: string;
      readonly since?: string;
    };
  };
  readonly at: string;
}

export interface EnvironmentStatus {
  readonly env: AppEnv;
  readonly self: boolean;
  readonly report: Probe<PublishedStatus>;
  readonly container: Probe<ContainerFacts>;
  /** The running commit's tag and age; undefined when nothing looks them up or no SHA is known. */
  readonly version?: Probe<VersionFacts | undefined>;
  /** A line per service of its set (empty for one service); undefined when not asked. */
  readonly services?: Probe<readonly ServiceStatus[]>;
  /** Its Swarm service and tasks (DEPLOY_RUNTIME=swarm); undefined when not asked. */
  readonly swarm?: Probe<SwarmServiceStatus>;
}

export interface StatusReport {
  readonly at: Date;
  readonly environments: readonly EnvironmentStatus[];
  readonly compare?: Probe<Comparison>;
  readonly ci?: Probe<CiState>;
  readonly promotion?: Probe<Promotion | undefined>;
  /** GitHub's webhook deliveries to this instance; undefined when it takes none. */
  readonly webhooks?: Probe<WebhookHistory>;
  /** Admins this bot cannot write to yet (never opened a chat with it); undefined before its check. */
  readonly unreachableAdmins?: readonly number[];
  /** Preview environments (staging with the flag `previews` on); undefined where there are none. */
  readonly previews?: Probe<PreviewCounts>;
}

/** How many previews run, how many failed, how many are in another state (not closed), and the cap. */
export interface PreviewCounts {
  readonly running: number;
  /** All that neither run nor are closed, the failed ones included. */
  readonly other: number;
  /** How many of `other` failed; undefined when the source does not say. */
  readonly failed?: number;
  readonly max: number;
}

/** What this instance knows of itself, as it publishes it. */
export function ownStatus(input: {
  env: AppEnv;
  gitSha?: string;
  startedAt: Date;
  container: string;
  health: PublishedStatus['health'];
  lock?: HeldLock;
  deploying?: Deployment;
  last?: Deployment;
  set?: Readonly<Record<string, number>>;
  now?: Date;
}): PublishedStatus {
  const last = input.last;
  return {
    env: input.env,
    gitSha: input.gitSha,
    startedAt: input.startedAt.toISOString(),
    container: input.container,
    health: input.health,
    lock: input.lock
      ? { owner: input.lock.owner, reason: input.lock.reason, expiresAt: input.lock.expiresAt.toISOString() }
      : undefined,
    deploying: input.deploying ? { id: input.deploying.id, step: input.deploying.step } : undefined,
    ...(input.set ? { set: input.set } : {}),
    last: last
      ? {
          id: last.id,
          status: last.status,
          sha: last.sha,
          trigger: last.trigger,
          requestedBy: last.requestedBy,
          at: (last.finishedAt ?? last.createdAt).toISOString(),
          ...(last.onlyService ? { onlyService: last.onlyService } : {}),
          image: last.imageOrigin
            ? last.imageOrigin.kind === 'reused'
              ? {
                  kind: 'reused',
                  fromEnv: last.imageOrigin.fromEnv,
                  since: last.imageOrigin.since.toISOString(),
                }
              : { kind: last.imageOrigin.kind }
            : undefined,
        }
      : undefined,
    at: (input.now ?? new Date()).toISOString(),
  };
}
