import type Docker from 'dockerode';
import type { Switched } from './runtime.js';
import { imageOf, replicasOf, SHA_LABEL, tasksOfUpdate, tokenOf } from './swarm-plan.js';
import { findService, settled, tasksOf } from './swarm-service.js';
import { ROLLBACK_WAIT_MS } from './swarm-surplus.js';

/** The commit a spec says it runs: lugh's label on the spec or its tasks, else GIT_SHA. */
function specSha(spec: Docker.ServiceSpec): string | undefined {
  const container = (spec.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec;
  return (
    container?.Labels?.[SHA_LABEL] ??
    spec.Labels?.[SHA_LABEL] ??
    container?.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length)
  );
}

/** Clocks: the engine's update times against Postgres's step times (one host here; NTP elsewhere). */
const CLOCK_SLACK_MS = 2_000;

/**
 * A self-deploy on Swarm: the task that follows the update is the one the update replaces,
 * so its run is cut off in the middle (stopped once the new task is healthy, or killed), and
 * Swarm goes on without it. When the run resumes (in the new task), the update that Swarm
 * completed stands when it is this deployment's: started after the deployment's start step
 * did (`target.since`), its spec at the deployment's commit, its new tasks all running
 * healthy. (Not the image: a deploy may reuse the very image it replaces, with the commit
 * in its environment.) Its handle goes to verify, as if the run had followed it to the end;
 * anything else (still moving after the wait, rolled back, paused, an older update) is no
 * completed switch, and the run converges as after any crash.
 */
export async function completedSwitch(
  docker: Docker,
  containerName: string,
  replaced: { readonly image: string; readonly sha?: string },
  target: { readonly sha: string; readonly since?: Date },
): Promise<Switched | undefined> {
  if (!(await findService(docker, containerName))) return undefined;
  const service = await settled(docker, containerName, ROLLBACK_WAIT_MS);
  if (service?.UpdateStatus?.State !== 'completed') return undefined;
  const startedAt = Date.parse(service.UpdateStatus.StartedAt ?? '');
  if (target.since && !(startedAt >= target.since.getTime() - CLOCK_SLACK_MS)) return undefined;
  const image = imageOf(service.Spec);
  const token = tokenOf(service.Spec);
  if (!image || !token || specSha(service.Spec) !== target.sha) return undefined;
  const { running } = tasksOfUpdate(await tasksOf(docker, service.ID), token);
  if (running < replicasOf(service.Spec)) return undefined;
  return {
    target: { containerName, image, sha: target.sha },
    nextId: token,
    currentId: replaced.image,
    previousName: containerName,
  };
}
