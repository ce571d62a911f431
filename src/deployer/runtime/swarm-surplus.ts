import { describeDockerError } from '../errors.js';
import { sleep } from './docker-containers.js';
import { imageOf, shaOf, surplusOf } from './swarm-plan.js';
import {
  findService,
  type ServiceInfo,
  SWARM_POLL_MS,
  settled,
  tasksOf,
  updateService,
} from './swarm-service.js';
import type { SwarmUpdateDeps } from './swarm-update.js';

// The end of putting a version back on Swarm (Swarm's rollback, lugh's, a stopped deploy's,
// a crashed one's): the service settles, and the surplus tasks Swarm may have left over
// failing tasks (moby/swarmkit#2242) are stopped.

/** How long a deploy waits for Swarm to stop the surplus tasks it left. */
export const SURPLUS_WAIT_MS = 30_000;

/** How long a rollback is waited for before the deploy reports it still under way. */
export const ROLLBACK_WAIT_MS = 120_000;

/**
 * Waits for the service to settle after `backTo` (the version put back: its image, and its
 * commit when known) was asked for; when it ended there (a rollback or a put-back update
 * completed), stops the surplus tasks (`stopSurplus`). One still moving or paused is left to
 * Swarm or to a person, and so is a spec at another image or commit (someone else deployed).
 * Returns the service as it settled, before any such update.
 */
export async function settledBack(
  deps: SwarmUpdateDeps,
  name: string,
  backTo: { readonly image: string; readonly sha?: string },
  say: (text: string) => Promise<void>,
): Promise<ServiceInfo | undefined> {
  const after = await settled(deps.docker, name, ROLLBACK_WAIT_MS);
  const state = after?.UpdateStatus?.State;
  const ended = state === 'rollback_completed' || state === 'completed';
  // A deploy may reuse the image it replaced: the commit, when both are known, tells them apart.
  const sha = after && shaOf(after);
  const there = imageOf(after?.Spec) === backTo.image && !(backTo.sha && sha && sha !== backTo.sha);
  // A surplus that Docker would not let lugh count or stop is a warning: the version is back.
  if (ended && there)
    await stopSurplus(deps, name, say).catch((error: unknown) =>
      deps.log.warn(
        { err: error, service: name },
        'could not stop the surplus tasks after putting a version back',
      ),
    );
  return after;
}

/**
 * Swarm may leave more tasks running than the service's replicas after an update (or a
 * rollback) over tasks that failed during it: its restart supervisor and its updater each
 * started one of the spec in a slot (moby/swarmkit#2242), and the reconcile that would stop
 * the second is skipped while the finishing updater is still registered. An update with the
 * spec unchanged has Swarm reconcile the service: it keeps one up-to-date task per slot and
 * stops the rest, replacing nothing. It also makes the current spec the previous one, so it
 * runs only once nothing will put back by `rollback=previous`: after the new version is
 * verified, or after a version was put back (`settledBack`; the previous spec's image, which
 * cleanup keeps, is remembered in `replacedImages`). A surplus that stays is a warning, not a
 * failed deploy or rollback.
 */
export async function stopSurplus(
  deps: SwarmUpdateDeps,
  name: string,
  say: (text: string) => Promise<void>,
): Promise<void> {
  const service = await findService(deps.docker, name);
  if (!service) return;
  const surplus = surplusOf(await tasksOf(deps.docker, service.ID));
  if (surplus === 0) return;
  const tasks = `${surplus} surplus task${surplus === 1 ? '' : 's'}`;
  const previous = imageOf(service.PreviousSpec);
  if (previous) deps.replacedImages.set(name, previous);
  try {
    await updateService(deps.docker, service, service.Spec, { auth: deps.auth, sameSpec: true });
  } catch (error) {
    deps.log.warn(
      { service: name, surplus, error: describeDockerError(error) },
      'Swarm runs more tasks than the service has replicas (moby/swarmkit#2242) and refused the update that would stop them',
    );
    await say(`Swarm left ${tasks} running (moby/swarmkit#2242): see docker service ps ${name}`);
    return;
  }
  await say(`Swarm left ${tasks} running (moby/swarmkit#2242); asked it to stop them`);
  const until = Date.now() + SURPLUS_WAIT_MS;
  let left = surplus;
  while (Date.now() < until) {
    await sleep(SWARM_POLL_MS);
    const now = await findService(deps.docker, name);
    if (!now) return;
    left = surplusOf(await tasksOf(deps.docker, now.ID));
    if (left === 0 && now.UpdateStatus?.State !== 'updating') return;
  }
  deps.log.warn(
    { service: name, surplus: left },
    'Swarm still runs more tasks than the service has replicas (moby/swarmkit#2242); see docker service ps',
  );
}
