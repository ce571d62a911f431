/**
 * A deploy run resumed after a crash: the environment put back to one running app
 * container first, then the steps an earlier run finished and whose work still stands
 * skipped.
 */
import type { DeploymentStore } from '../store/deployments.js';
import type { Runtime, SetMemberRecord, Switched } from './runtime/runtime.js';
import type { ServiceSet } from './service-set.js';
import { membersOf, replacedByRecord } from './set-members.js';
import { replacedOf } from './steps/start.js';
import type { Step, StepContext } from './steps/step.js';

type StepRecords = ReadonlyMap<string, { status: string; detail: string | null }>;

/**
 * Puts the environment of an interrupted deployment back to one running app container:
 * the new version if its switch was verified (it passed its gates), else the container
 * the switch replaced (recorded by the start step), even if the new one runs. A declared
 * set: every container as its own record says (`deployment_services`: at 'switching' and
 * 'switched' the container it replaced, or that it is new): before the set's verify passed,
 * each one this deployment switched goes back to what it replaced, in reverse order, and
 * each it created goes; after, the new set stands (leftover pre-flights go).
 */
export async function convergeAfterCrash(
  runtime: Runtime,
  containerName: string,
  recorded: StepRecords,
  deployments: DeploymentStore,
  deploymentId: number,
): Promise<{ converged?: string; verified: boolean; switched?: Switched }> {
  const verified = recorded.get('verify')?.status === 'succeeded';
  const set = (await deployments.servicesOf(deploymentId)) as ServiceSet | undefined;
  if (set?.declared && runtime.convergeSet) {
    const rows = await deployments.serviceProgress(deploymentId);
    const members = membersOf(set, containerName, true).map((m) => {
      const row = rows.find((r) => r.service === m.container.service && r.replica === m.container.replica);
      const took = !verified && (row?.state === 'switching' || row?.state === 'switched');
      const record: SetMemberRecord = {
        name: m.container.name,
        route: m.route,
        ...(took ? replacedByRecord(row?.detail) : {}),
      };
      return { m, record };
    });
    const converged = await runtime.convergeSet(members.map((x) => x.record));
    for (const { m, record } of members) {
      if (record.replacedId || record.created)
        await deployments.serviceState(
          deploymentId,
          m.container,
          'rolled_back',
          'put back after an interrupted run',
        );
    }
    return { converged, verified };
  }
  const replaced = verified ? undefined : replacedOf(recorded.get('start')?.detail);
  const sha = recorded.get('resolve')?.detail;
  // The orchestrator may have completed the switch while the run was away (on Swarm the
  // task following the update is the one it replaces): it stands, and verify watches it.
  if (replaced && sha && runtime.completedSwitch) {
    const since = (await deployments.stepTimes(deploymentId)).find((t) => t.step === 'start')?.startedAt;
    const switched = await runtime.completedSwitch(
      containerName,
      { image: replaced.id, sha: replaced.sha },
      { sha, since },
    );
    if (switched) {
      const converged = `the switch to ${switched.target.image} was completed while the deploy's process was replaced`;
      return { converged, verified, switched };
    }
  }
  const converged = await runtime.converge(
    containerName,
    replaced && { replacedId: replaced.id, replacedSha: replaced.sha },
  );
  return { converged, verified };
}

export const recordsOf = async (deployments: DeploymentStore, id: number): Promise<StepRecords> =>
  new Map((await deployments.steps(id)).map((r) => [r.step, r]));

/**
 * What is left of a deployment's steps. A fresh run runs them all. A run resumed after a
 * crash first puts the environment back to one running app container, then skips the
 * leading steps an earlier run finished whose work still stands (the commit, the image,
 * the backup, the migration, and the switch once verified), and runs the rest: it never
 * starts over.
 */
export async function stepsToRun(steps: readonly Step[], ctx: StepContext): Promise<readonly Step[]> {
  if (!ctx.reattached) return steps;
  const id = ctx.deployment.id;
  let recorded = await recordsOf(ctx.deployments, id);
  const { converged, verified, switched } = await convergeAfterCrash(
    ctx.runtime,
    ctx.containerName,
    recorded,
    ctx.deployments,
    id,
  );
  if (converged) ctx.log.warn({ deploymentId: id, converged }, 'converged after an interrupted deploy');
  ctx.switchVerified = verified;
  if (switched) {
    // The steps that led to it stand as done; the resumed run goes on at verify.
    ctx.switched = switched;
    for (const step of ['health', 'switch'] as const) {
      const r = recorded.get(step);
      if (r?.status !== 'succeeded')
        await ctx.deployments.stepFinished(
          id,
          step,
          'succeeded',
          'completed by Swarm while lugh was replaced',
        );
    }
    recorded = await recordsOf(ctx.deployments, id);
  }
  let resumeAt = 0;
  for (const step of steps) {
    const r = recorded.get(step.name);
    const finished = r?.status === 'succeeded' || r?.status === 'skipped';
    if (!finished || !step.restore?.(ctx, r.detail)) break;
    resumeAt++;
  }
  if (resumeAt > 0)
    ctx.log.info({ deploymentId: id, step: steps[resumeAt]?.name }, 'resuming an interrupted deploy');
  return steps.slice(resumeAt);
}
