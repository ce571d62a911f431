import type { AppEnv } from '../config/environments.js';
import {
  AccessDeniedError,
  ForgeUnavailableError,
  NotFoundError,
  RateLimitedError,
} from '../forge/errors.js';
import type { Forge } from '../forge/forge.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Deployment, DeploymentStore } from '../store/deployments.js';
import { deployLockName, deploymentOfOwner, type HeldLock, type LockStore } from '../store/locks.js';

/** A deployment a person asks for from chat (/deploy, a /rollback button). */
export interface DeployRequest {
  readonly ref: string;
  /** The exact commit, when it is known already (a rollback's). */
  readonly sha?: string;
  readonly trigger: 'manual' | 'rollback';
  readonly requester: { readonly id: number; readonly name?: string };
  readonly chatId?: number;
  /** The audit log's action: `/deploy`, `/rollback`. */
  readonly action: string;
  /** Wait for the requester to confirm (for `confirmMs`) instead of queueing at once. */
  readonly confirm?: boolean;
  /**
   * A rollback's: what one request is (the /rollback picker it came from). The first request
   * with a key creates the deployment; later ones, and any while a rollback to the same
   * release is under way, get `already` with that deployment.
   */
  readonly key?: string;
  /** A rollback of this one service of the set alone (`/rollback <service> alone`); with `key` only. */
  readonly only?: string;
}

export type DeployRequestResult =
  /** A person holds the environment's lock; nothing was created. */
  | { readonly outcome: 'locked'; readonly lock: HeldLock }
  | { readonly outcome: 'queued'; readonly deployment: Deployment }
  | { readonly outcome: 'awaiting_confirmation'; readonly deployment: Deployment }
  /** The same request (or a rollback to the same release) made this deployment already. */
  | { readonly outcome: 'already'; readonly deployment: Deployment }
  /** The ref looks like a SHA, and the forge knows no branch or single commit by it; nothing was created. */
  | { readonly outcome: 'unknown_commit'; readonly ref: string }
  /** The forge could not be asked which commit the SHA names (down, rate limited, refused); nothing was created. */
  | {
      readonly outcome: 'forge_failed';
      readonly ref: string;
      readonly why: 'unavailable' | 'rate_limited' | 'access_denied';
      readonly resetAt?: Date;
    };

/** What may be a commit SHA, short (at least 4 characters, as git takes) or full. */
export const SHA_LIKE = /^[0-9a-f]{4,40}$/i;

/** What the deploy commands need: this instance's deployments, lock, queue and container. */
export interface DeployControl {
  /** The environment this instance deploys. */
  readonly env: AppEnv;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  /** Queues a deployment row for the worker; returns the job id. */
  enqueue(deploymentId: number): Promise<string>;
  /**
   * Every deployment asked for from chat goes through here: refused at once while a person
   * holds the lock (a running deployment's lock is fine: the new one waits for it), else
   * created, audited and queued (or left awaiting confirmation).
   */
  request(input: DeployRequest): Promise<DeployRequestResult>;
  /** The last `lines` lines the running app container printed, or `container`'s (one of its set). */
  containerLogs(lines: number, container?: string): Promise<string[]>;
  /**
   * The containers of this environment's service set (lugh.yml), the app container first;
   * none besides it for one service. Undefined: this instance cannot look (no Docker engine).
   */
  serviceContainers?(): Promise<readonly SetMember[]>;
  /** How long a production deploy waits for its confirmation. */
  readonly confirmMs: number;
}

/** One container of an environment's set, as its labels name it (`lugh.service`, `lugh.replica`). */
export interface SetMember {
  readonly service: string;
  readonly replica: number;
  readonly name: string;
}

export interface DeployControlOptions {
  readonly env: AppEnv;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  readonly audit: AuditLog;
  enqueue(deploymentId: number): Promise<string>;
  containerLogs(lines: number, container?: string): Promise<string[]>;
  serviceContainers?(): Promise<readonly SetMember[]>;
  readonly confirmMs: number;
  /** Resolves a SHA typed in chat to the commit it names; without it a SHA is taken as a branch name. */
  readonly forge?: Pick<Forge, 'resolveCommit'>;
}

/**
 * The commit a SHA-like ref names, when it names one: its full SHA; undefined when `ref` is
 * a branch (or tag) whose name merely looks like a SHA, resolved at deploy time as branches are.
 */
async function shaOf(
  forge: Pick<Forge, 'resolveCommit'>,
  ref: string,
): Promise<string | undefined | null | Extract<DeployRequestResult, { outcome: 'forge_failed' }>> {
  try {
    const sha = await forge.resolveCommit(ref);
    return sha.startsWith(ref.toLowerCase()) ? sha : undefined;
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    if (error instanceof RateLimitedError)
      return { outcome: 'forge_failed', ref, why: 'rate_limited', resetAt: error.resetAt };
    if (error instanceof ForgeUnavailableError) return { outcome: 'forge_failed', ref, why: 'unavailable' };
    if (error instanceof AccessDeniedError) return { outcome: 'forge_failed', ref, why: 'access_denied' };
    throw error;
  }
}

export function createDeployControl(options: DeployControlOptions): DeployControl {
  const { env, deployments, locks, audit, enqueue, containerLogs, confirmMs, forge } = options;
  return {
    env,
    deployments,
    locks,
    enqueue,
    containerLogs,
    serviceContainers: options.serviceContainers,
    confirmMs,
    async request(input) {
      const lock = await locks.held(deployLockName(env));
      if (lock && deploymentOfOwner(lock.owner) === undefined) {
        return { outcome: 'locked', lock };
      }
      let sha = input.sha;
      if (!sha && forge && SHA_LIKE.test(input.ref)) {
        // A SHA is resolved now, on the forge: a short one names a commit only while it is unique.
        const resolved = await shaOf(forge, input.ref);
        if (resolved === null) {
          await audit.record({
            actorId: input.requester.id,
            actorName: input.requester.name,
            action: input.action,
            outcome: 'refused',
            details: { env, ref: input.ref, reason: 'no branch or single commit by that name' },
          });
          return { outcome: 'unknown_commit', ref: input.ref };
        }
        if (typeof resolved === 'object') return resolved;
        sha = resolved;
      }
      let deployment: Deployment;
      if (input.only && !(input.trigger === 'rollback' && input.key && input.sha))
        throw new Error('a rollback of one service alone comes from a /rollback picker (its key and commit)');
      if (input.trigger === 'rollback' && input.key && input.sha) {
        const claimed = await deployments.createRollback({
          env,
          sha: input.sha,
          requestKey: input.key,
          requestedBy: input.requester.id,
          requestedByName: input.requester.name,
          chatId: input.chatId,
          confirmMs: input.confirm ? confirmMs : undefined,
          only: input.only,
        });
        deployment = claimed.deployment;
        if (!claimed.created) {
          await audit.record({
            actorId: input.requester.id,
            actorName: input.requester.name,
            action: input.action,
            outcome: 'refused',
            details: { env, sha: input.sha, reason: 'already requested', deploymentId: deployment.id },
          });
          return { outcome: 'already', deployment };
        }
      } else {
        deployment = await deployments.create({
          env,
          ref: input.ref,
          sha,
          trigger: input.trigger,
          requestedBy: input.requester.id,
          requestedByName: input.requester.name,
          chatId: input.chatId,
          confirmMs: input.confirm ? confirmMs : undefined,
        });
      }
      await audit.record({
        actorId: input.requester.id,
        actorName: input.requester.name,
        action: input.action,
        outcome: 'ok',
        details: {
          env,
          ref: input.ref,
          ...(sha ? { sha } : {}),
          ...(input.only ? { only: input.only } : {}),
          deploymentId: deployment.id,
        },
      });
      if (input.confirm) return { outcome: 'awaiting_confirmation', deployment };
      await enqueue(deployment.id);
      return { outcome: 'queued', deployment };
    },
  };
}
