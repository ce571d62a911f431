import type { SetProgress, SetTarget } from '../runtime/runtime.js';
import { containersOf } from '../service-set.js';
import { found, type StepContext } from './step.js';

// A declared service set (lugh.yml) through the named steps, so the chat's step line reads
// as for one service: start records the set (every container waiting), health is skipped
// (each container is gated inside the switch), switch replaces the containers one at a
// time in order — each with its own pre-flight, health gate and switch —, verify watches
// them all together, then removes the containers of services the set no longer has.

/** Whether this deploy is a declared set's (else one service, as before). */
export const isSetDeploy = (ctx: StepContext): boolean => ctx.serviceSet?.declared === true;

/** The set, its images and commit, as the runtime's set calls take them. */
export function setTargetOf(ctx: StepContext): SetTarget {
  return {
    containerName: ctx.containerName,
    set: found(ctx.serviceSet, 'service set'),
    images: found(ctx.serviceImages, "services' images"),
    sha: found(ctx.sha, 'commit'),
  };
}

/** The set's containers' names, in the order they are replaced. */
export const setContainerNames = (ctx: StepContext): string[] =>
  containersOf(found(ctx.serviceSet, 'service set'), ctx.containerName).map((c) => c.name);

/** Records each container's state (deployment_services) and tells the notifier. */
export function setProgressOf(ctx: StepContext): SetProgress {
  const id = ctx.deployment.id;
  return async (container, state, detail) => {
    await ctx.deployments.serviceState(id, container, state, detail);
    await ctx.notifier?.services?.(id, ctx.env);
  };
}

/** The runtime's set calls; a runtime without them deploys one service only. */
export function setRuntimeOf(ctx: StepContext) {
  const { switchSet, verifySet, rollbackSet, removeStrays } = ctx.runtime;
  if (!switchSet || !verifySet || !rollbackSet || !removeStrays) {
    throw new Error('this runtime deploys one service only: lugh.yml declares a set of services');
  }
  const runtime = ctx.runtime;
  return {
    switchSet: switchSet.bind(runtime),
    verifySet: verifySet.bind(runtime),
    rollbackSet: rollbackSet.bind(runtime),
    removeStrays: removeStrays.bind(runtime),
  };
}
