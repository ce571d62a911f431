import type { AppEnv } from '../config/environments.js';
import type { ForgeDeployment } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';

/** What the intake reads from GitHub. */
export interface DeploymentSource {
  listDeployments(environment: string): Promise<ForgeDeployment[]>;
  setDeploymentStatus(id: number, state: 'queued', description: string): Promise<void>;
}

export interface IntakeDeps {
  readonly env: AppEnv;
  readonly logger: Logger;
  readonly source: DeploymentSource;
  readonly deployments: DeploymentStore;
  readonly enqueue: (deploymentId: number) => Promise<string>;
  /** The branch whose pushes deploy this environment, or undefined when pushes do not. */
  readonly pushBranch?: string;
  /** GitHub Deployments older than this are history, not requests (a first start claims none). */
  readonly maxAgeMs?: number;
  readonly now?: () => Date;
}

interface LughPayload {
  readonly promotionId?: number;
  readonly requestedBy?: number;
  readonly chatId?: number;
}

/**
 * How deploys reach an instance from outside its chat: GitHub Deployments of its
 * environment that lugh created (a promotion on staging hands production its deploy this
 * way: neither instance touches the other's database or queue), and pushes to its branch.
 * A GitHub Deployment is claimed into exactly one deployment row by the database, however
 * often a webhook or a poll sees it.
 */
export function createDeployIntake(deps: IntakeDeps) {
  const log = deps.logger.child({ component: 'deploy-intake' });
  const now = deps.now ?? (() => new Date());
  const maxAgeMs = deps.maxAgeMs ?? 24 * 60 * 60_000;

  const claim = async (d: ForgeDeployment): Promise<number | undefined> => {
    const lugh = d.payload.lugh as LughPayload | undefined;
    if (!lugh || d.environment !== deps.env) return undefined;
    if (now().getTime() - d.createdAt.getTime() > maxAgeMs) return undefined;
    const { deployment, created } = await deps.deployments.claimGitHub({
      githubDeploymentId: d.id,
      env: deps.env,
      ref: d.ref,
      sha: d.sha,
      requestedBy: typeof lugh.requestedBy === 'number' ? lugh.requestedBy : undefined,
      chatId: typeof lugh.chatId === 'number' ? lugh.chatId : undefined,
    });
    // Only the claimer queues it; one that crashed before queueing is re-queued at start
    // (the engine queues every unfinished deployment).
    if (!created) return undefined;
    const jobId = await deps.enqueue(deployment.id);
    await deps.deployments.setJob(deployment.id, jobId);
    log.info(
      { deploymentId: deployment.id, githubDeploymentId: d.id, sha: d.sha },
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
        const id = await claim(d);
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
