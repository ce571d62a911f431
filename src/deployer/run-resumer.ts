import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { type DeploymentStore, isFinished } from '../store/deployments.js';

/** How long a starting engine keeps asking for the claim of a run another process holds. */
export const RESUME_PATIENCE_MS = 180_000;
const RESUME_RETRY_MS = 2_000;

/**
 * Resumes, in this process and at once, the deployments of the environment left running
 * whose run nobody holds. On Swarm no runner container carries a deploy: the task that ran
 * it is the one its own update replaces, stopped (it lets go of the run, see the step
 * runner's `leave`) or killed on the way. Waiting for BullMQ to take the dead worker's job
 * back would cost the job's lock and a stall interval (up to 90 s, DEPLOY_STALLS); the
 * claim (a Postgres session lock, freed with its process's connection) says at once that
 * nobody runs it. A run still held elsewhere (the stopping task, a few seconds more) is
 * asked again until it is free or its row finished. The dead worker's job that comes back
 * later finds the row finished, or the run claimed, and ends; the result is told once.
 */
export function createRunResumer(deps: {
  env: AppEnv;
  deployments: DeploymentStore;
  run(deploymentId: number): Promise<string>;
  logger: Logger;
  patienceMs?: number;
  retryMs?: number;
}) {
  const log = deps.logger.child({ component: 'run-resumer' });
  const patienceMs = deps.patienceMs ?? RESUME_PATIENCE_MS;
  const retryMs = deps.retryMs ?? RESUME_RETRY_MS;
  let stopped = false;

  const finished = async (id: number) => {
    const d = await deps.deployments.get(id);
    return !d || isFinished(d.status);
  };

  const resumeOne = async (id: number): Promise<void> => {
    const until = Date.now() + patienceMs;
    while (!stopped && Date.now() < until) {
      const outcome = await deps.run(id);
      if (outcome !== 'running_elsewhere') {
        log.info({ deploymentId: id, outcome }, 'resumed an interrupted deployment');
        return;
      }
      if (await finished(id)) return;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };

  return {
    /** Resumes each running deployment of the environment, one after the other. */
    async resume(): Promise<void> {
      const running = (await deps.deployments.unfinished(deps.env)).filter((d) => d.status === 'running');
      for (const d of running) {
        if (stopped) return;
        await resumeOne(d.id).catch((error: unknown) =>
          log.warn({ err: error, deploymentId: d.id }, 'could not resume an interrupted deployment'),
        );
      }
    },
    stop(): void {
      stopped = true;
    },
  };
}

export type RunResumer = ReturnType<typeof createRunResumer>;
