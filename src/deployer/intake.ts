import type { AppEnv } from '../config/environments.js';
import type { ForgeDeployment } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { DeploymentContext, DeploymentStore } from '../store/deployments.js';
import { type HandoffClaims, verifyHandoff } from './handoff-signature.js';

/** What the intake reads from GitHub. */
export interface DeploymentSource {
  listDeployments(environment: string): Promise<ForgeDeployment[]>;
  setDeploymentStatus(id: number, state: 'queued' | 'failure', description: string): Promise<void>;
  /** True when `sha` is `branch`'s head or an ancestor of it. */
  isAncestor(sha: string, branch: string): Promise<boolean>;
}

/** What this instance accepts a handoff from: the key, its admins, the chats it may report to. */
export interface HandoffPolicy {
  /** PROMOTE_VERIFY_KEY; without it every handoff is refused. */
  readonly verifyKey?: string;
  /** This instance's ADMIN_IDS: every approver must be one of them. */
  readonly adminIds: readonly number[];
  /** Chats besides the admins' private ones it may report to (NOTIFY_CHAT_ID, PROMOTE_CHAT_IDS). */
  readonly chatIds: readonly number[];
  /** The branch a handed-over commit must be on (main). */
  readonly branch: string;
  /** Groups known to have become supergroups (old id → new id): a chat of `chatIds` that moved is reported to at its new id. */
  readonly movedChats?: () => Promise<ReadonlyMap<number, number>>;
}

/** Whether `chatId` is one of the policy's chats, or the supergroup one of them became. */
async function reportsTo(policy: HandoffPolicy, chatId: number): Promise<boolean> {
  if (policy.chatIds.includes(chatId)) return true;
  const moved = await policy.movedChats?.();
  return policy.chatIds.some((id) => moved?.get(id) === chatId);
}

/** A GitHub Deployment that was refused, for the notify chat. */
export interface HandoffRefusal {
  readonly env: AppEnv;
  readonly githubDeploymentId: number;
  readonly sha: string;
  /** Who created the GitHub Deployment (its login on GitHub), when GitHub says. */
  readonly creator?: string;
  readonly reason: string;
}

export interface IntakeDeps {
  readonly env: AppEnv;
  readonly logger: Logger;
  readonly source: DeploymentSource;
  readonly deployments: DeploymentStore;
  readonly enqueue: (deploymentId: number) => Promise<string>;
  readonly handoff: HandoffPolicy;
  readonly audit?: AuditLog;
  /** Announces a refusal (the notify chat, through the outbox); called once per refused Deployment. */
  readonly announceRefusal?: (refusal: HandoffRefusal) => Promise<void>;
  /** The branch whose pushes deploy this environment, or undefined when pushes do not. */
  readonly pushBranch?: string;
  /** GitHub Deployments older than this are history, not requests (a first start claims none). */
  readonly maxAgeMs?: number;
  readonly now?: () => Date;
}

const text = (v: unknown, max = 100) =>
  typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
const link = (v: unknown) => {
  const url = text(v, 500);
  return url && /^https?:\/\//.test(url) ? url : undefined;
};
const whole = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

/** An ISO 8601 UTC time as Date#toISOString writes it, or undefined. */
const isoTime = (v: unknown) =>
  typeof v === 'string' &&
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) &&
  !Number.isNaN(Date.parse(v))
    ? v
    : undefined;

/**
 * What a handoff's `report` tells the production report (the PR, the release, the people,
 * CI's time), each field checked for its shape and length; anything else is left out.
 * Unsigned and display only: it is read from a handoff whose signature verified, and never
 * decides anything.
 */
export function reportContextOf(report: unknown): DeploymentContext | undefined {
  if (typeof report !== 'object' || report === null) return undefined;
  const r = report as Record<string, unknown>;
  const pr = r.pr as Record<string, unknown> | undefined;
  const release = r.release as Record<string, unknown> | undefined;
  const prNumber = whole(pr?.number);
  const tag = text(release?.tag);
  const context: DeploymentContext = {
    ...(whole(r.promotionId) !== undefined ? { promotionId: whole(r.promotionId) } : {}),
    ...(prNumber ? { pr: { number: prNumber, ...(link(pr?.url) ? { url: link(pr?.url) } : {}) } } : {}),
    ...(tag ? { release: { tag, ...(link(release?.url) ? { url: link(release?.url) } : {}) } } : {}),
    ...(text(r.promotedBy) ? { promotedBy: text(r.promotedBy) } : {}),
    ...(text(r.approvedBy) ? { approvedBy: text(r.approvedBy) } : {}),
    ...(whole(r.ciMs) !== undefined ? { ciMs: whole(r.ciMs) } : {}),
    ...(isoTime(r.firstCommitAt) ? { firstCommitAt: isoTime(r.firstCommitAt) } : {}),
    ...(text(r.headTitle, 300) ? { headTitle: text(r.headTitle, 300) } : {}),
  };
  return Object.keys(context).length > 0 ? context : undefined;
}

type Checked = { ok: true; claims: HandoffClaims } | { ok: false; reason: string; promotionId?: number };

/**
 * How deploys reach an instance from outside its chat: GitHub Deployments of its
 * environment that lugh created (a promotion on staging hands production its deploy this
 * way: neither instance touches the other's database or queue), and pushes to its branch.
 *
 * A GitHub Deployment is no proof of approval (anyone with `deployments: write` can create
 * one), so one is deployed only when its signature verifies with PROMOTE_VERIFY_KEY over
 * its own SHA and environment, every approver is one of this instance's admins, the chat
 * is one it may report to, its commit is on main, and its promotion was never deployed
 * here. Anything else is refused: marked `failure` on GitHub, audited and announced, once.
 * A claimed one becomes exactly one deployment row (the database sees to it, per GitHub
 * Deployment and per promotion), however often a webhook or a poll sees it.
 */
export function createDeployIntake(deps: IntakeDeps) {
  const log = deps.logger.child({ component: 'deploy-intake' });
  const now = deps.now ?? (() => new Date());
  const maxAgeMs = deps.maxAgeMs ?? 24 * 60 * 60_000;
  const policy = deps.handoff;

  /** The checks that need no database row of this Deployment; a forge failure throws (ask again later). */
  const check = async (d: ForgeDeployment, lugh: unknown): Promise<Checked> => {
    const verdict = verifyHandoff(d, lugh, policy.verifyKey);
    const named = (lugh as { promotionId?: unknown }).promotionId;
    const promotionId = typeof named === 'number' && Number.isSafeInteger(named) ? named : undefined;
    if (!verdict.ok) return { ok: false, reason: verdict.reason, promotionId };
    const { claims } = verdict;
    const strangers = claims.approvers.filter((a) => !policy.adminIds.includes(a));
    if (strangers.length > 0)
      return {
        ok: false,
        reason: `approved by ${strangers.join(', ')}, not in ${deps.env}'s ADMIN_IDS`,
        promotionId,
      };
    if (!policy.adminIds.includes(claims.chatId) && !(await reportsTo(policy, claims.chatId)))
      return {
        ok: false,
        reason: `chat ${claims.chatId} is not one ${deps.env} reports to (an admin's private chat, NOTIFY_CHAT_ID or PROMOTE_CHAT_IDS)`,
        promotionId,
      };
    const earlier = await deps.deployments.ofPromotion(claims.promotionId);
    // The same GitHub Deployment, claimed by a racing poll or webhook since it was last seen:
    // not a replay. claimGitHub then finds it claimed and nothing more happens.
    if (earlier && earlier.githubDeploymentId !== d.id)
      return {
        ok: false,
        reason: `promotion #${claims.promotionId} was deployed before (deploy #${earlier.id})`,
        promotionId,
      };
    if (!(await deps.source.isAncestor(claims.sha, policy.branch)))
      return {
        ok: false,
        reason: `commit ${claims.sha.slice(0, 7)} is not on ${policy.branch}`,
        promotionId,
      };
    return { ok: true, claims };
  };

  /** Refuses once: GitHub status `failure`, an audit row, a notice. Never deployed. */
  const refuse = async (d: ForgeDeployment, reason: string, promotionId?: number) => {
    const first = await deps.deployments.refuseHandoff({
      githubDeploymentId: d.id,
      env: deps.env,
      sha: d.sha,
      creator: d.creator,
      promotionId,
      reason,
    });
    if (!first) return;
    log.warn(
      { githubDeploymentId: d.id, sha: d.sha, creator: d.creator, reason },
      'refused a GitHub deployment',
    );
    await deps.source
      .setDeploymentStatus(d.id, 'failure', `lugh ${deps.env} refused it: ${reason}`)
      .catch((error: unknown) => log.warn({ err: error }, 'could not mark the GitHub deployment failed'));
    await deps.audit
      ?.record({
        action: 'handoff refused',
        outcome: 'refused',
        details: { githubDeploymentId: d.id, sha: d.sha, creator: d.creator ?? null, promotionId, reason },
      })
      .catch((error: unknown) => log.warn({ err: error }, 'could not audit the refused handoff'));
    await deps
      .announceRefusal?.({ env: deps.env, githubDeploymentId: d.id, sha: d.sha, creator: d.creator, reason })
      .catch((error: unknown) => log.warn({ err: error }, 'could not announce the refused handoff'));
  };

  const claim = async (d: ForgeDeployment): Promise<number | undefined> => {
    const lugh = d.payload.lugh;
    if (typeof lugh !== 'object' || lugh === null || d.environment !== deps.env) return undefined;
    if (now().getTime() - d.createdAt.getTime() > maxAgeMs) return undefined;
    if (await deps.deployments.handoffSeen(d.id)) return undefined;
    const checked = await check(d, lugh);
    if (!checked.ok) {
      await refuse(d, checked.reason, checked.promotionId);
      return undefined;
    }
    const { claims } = checked;
    // The signed approval time beside the display context: the metrics' approval to healthy.
    const context = { ...reportContextOf(d.payload.report), approvedAt: claims.approvedAt };
    const { deployment, created, replay } = await deps.deployments.claimGitHub({
      requestedByName: context?.approvedBy,
      context,
      githubDeploymentId: d.id,
      env: deps.env,
      ref: d.ref,
      sha: d.sha,
      requestedBy: claims.approvers[0],
      chatId: claims.chatId,
      promotionId: claims.promotionId,
    });
    if (replay) {
      // Another GitHub Deployment of the same promotion was claimed in between.
      await refuse(
        d,
        `promotion #${claims.promotionId} was deployed before (deploy #${deployment.id})`,
        claims.promotionId,
      );
      return undefined;
    }
    // Only the claimer queues it; one that crashed before queueing is re-queued at start
    // (the engine queues every unfinished deployment).
    if (!created) return undefined;
    const jobId = await deps.enqueue(deployment.id);
    await deps.deployments.setJob(deployment.id, jobId);
    log.info(
      { deploymentId: deployment.id, githubDeploymentId: d.id, sha: d.sha, promotionId: claims.promotionId },
      'claimed a GitHub deployment',
    );
    await deps.source
      .setDeploymentStatus(d.id, 'queued', `lugh ${deps.env} queued deploy #${deployment.id}`)
      .catch((error: unknown) => log.warn({ err: error }, 'could not mark the GitHub deployment queued'));
    return deployment.id;
  };

  return {
    /** Claims what GitHub lists for this environment (a 304 when nothing changed). */
    async poll(): Promise<number[]> {
      const claimed: number[] = [];
      for (const d of await deps.source.listDeployments(deps.env)) {
        // One that cannot be checked now (GitHub unavailable) is looked at again next poll.
        const id = await claim(d).catch((error: unknown) => {
          log.warn({ err: error, githubDeploymentId: d.id }, 'could not check a GitHub deployment');
          return undefined;
        });
        if (id !== undefined) claimed.push(id);
      }
      return claimed;
    },

    /** A `deployment` or `push` webhook (already verified and deduplicated by delivery id). */
    async handleWebhook(event: string, payload: unknown): Promise<number | undefined> {
      if (event === 'deployment') {
        const d = (payload as { deployment?: Record<string, unknown> }).deployment;
        if (!d) return undefined;
        return claim({
          id: Number(d.id),
          sha: String(d.sha),
          ref: String(d.ref),
          environment: String(d.environment),
          createdAt: new Date(String(d.created_at)),
          creator: (d.creator as { login?: unknown } | null | undefined)?.login?.toString(),
          payload:
            typeof d.payload === 'object' && d.payload !== null ? (d.payload as Record<string, unknown>) : {},
        });
      }
      if (event === 'push' && deps.pushBranch) {
        const push = payload as {
          ref?: string;
          after?: string;
          deleted?: boolean;
          pusher?: { name?: string };
        };
        if (push.ref !== `refs/heads/${deps.pushBranch}` || push.deleted || !push.after) return undefined;
        if (/^0+$/.test(push.after)) return undefined;
        const deployment = await deps.deployments.create({
          env: deps.env,
          ref: deps.pushBranch,
          sha: push.after,
          trigger: 'push',
        });
        const jobId = await deps.enqueue(deployment.id);
        await deps.deployments.setJob(deployment.id, jobId);
        log.info({ deploymentId: deployment.id, sha: push.after }, 'a push queued a deploy');
        return deployment.id;
      }
      return undefined;
    },
  };
}

export type DeployIntake = ReturnType<typeof createDeployIntake>;
