import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { type Failpoints, noFailpoints } from '../failpoints.js';
import type { Runtime } from './runtime.js';
import { MIGRATE_OF_LABEL, removeJob, runSwarmMigration } from './swarm-migration.js';
import { imageOf, planServiceUpdate, SHA_LABEL, shaOf, tokenOf } from './swarm-plan.js';
import { completedSwitch } from './swarm-resume.js';
import {
  findService,
  noService,
  type RegistryAuth,
  type ServiceInfo,
  serviceLogTail,
  settled,
  updateService,
} from './swarm-service.js';
import { ROLLBACK_WAIT_MS, settledBack } from './swarm-surplus.js';
import {
  awaitCompleted,
  awaitTasks,
  monitorOf,
  putBack,
  rollBack,
  type SwarmUpdateDeps,
  watchTasks,
} from './swarm-update.js';

export type { RegistryAuth } from './swarm-service.js';

/** How long a deploy waits for an update someone else started on the service to end. */
const SETTLE_BEFORE_MS = 60_000;

/** The commit an image bakes in (GIT_SHA, COMMIT_SHA, lugh.sha, the OCI revision), when it is on this node. */
async function imageShaOf(docker: Docker, ref: string | undefined): Promise<string | undefined> {
  if (!ref) return undefined;
  const config = await docker
    .getImage(ref)
    .inspect()
    .then((i) => i.Config)
    .catch(() => undefined);
  const env = (name: string) => config?.Env?.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  const labels = config?.Labels ?? {};
  return [
    env('GIT_SHA'),
    env('COMMIT_SHA'),
    labels[SHA_LABEL],
    labels['org.opencontainers.image.revision'],
  ].find((v) => v !== undefined && /^[0-9a-f]{40}$/.test(v));
}

/**
 * The Swarm runtime (DEPLOY_RUNTIME=swarm): the app is a Swarm service (DEPLOY_CONTAINER
 * names it, `<stack>_<service>` for a stack), and a deploy is ONE service update to the new
 * image reference (`ctx.image`, opaque: a local tag or a registry's digest reference) that
 * Swarm carries out, start-first with failure_action rollback, and lugh follows through the
 * service's UpdateStatus and its tasks (swarm-update.ts). The steps keep their names: start
 * issues the update, health waits for the new tasks to run healthy (`updating 1/2 tasks`),
 * switch for Swarm to complete it (old tasks gone), verify watches the new tasks through
 * DEPLOY_VERIFY_SECONDS. The previous version is the service's previous spec; the start
 * step records the image it ran (`replaces <image> at <sha>`), which a resumed run puts back.
 * Migrations run as a one-off Swarm job (swarm-migration.ts). A service set (lugh.yml) is
 * not deployed on Swarm yet: the resolve step refuses it.
 */
export function createSwarmRuntime(options: {
  docker: Docker;
  logger: Logger;
  /** Where fault tests pause a deploy (`failpoints.ts`); none by default. */
  failpoints?: Failpoints;
  /**
   * Swarm's monitor window after each task's update (UpdateConfig.Monitor); by default the
   * service's own (its stack's `update_config.monitor`), else Swarm's 5 s.
   */
  monitorMs?: number;
  /** The registry's credentials, sent with each update for the nodes to pull (never logged). */
  registryAuth?: RegistryAuth;
}): Runtime {
  const { docker } = options;
  const log = options.logger.child({ component: 'swarm-update' });
  const deps: SwarmUpdateDeps = {
    docker,
    log,
    failpoints: options.failpoints ?? noFailpoints,
    monitorMs: options.monitorMs,
    auth: options.registryAuth,
    issuedAfter: new Map(),
    replacedImages: new Map(),
  };

  const required = async (name: string): Promise<ServiceInfo> => {
    const service = await findService(docker, name);
    if (!service) throw new Error(noService(name));
    return service;
  };

  /** The migration jobs a crashed deploy left beside the service. */
  const removeLeftoverJobs = async (name: string): Promise<string[]> => {
    const jobs = await docker.listServices({
      filters: JSON.stringify({ label: [`${MIGRATE_OF_LABEL}=${name}`] }),
    });
    for (const job of jobs) await removeJob(docker, job.ID);
    return jobs.map((j) => `removed the migration job ${j.Spec?.Name ?? j.ID}`);
  };

  return {
    name: 'swarm',

    async requireContainer(containerName) {
      await required(containerName);
    },

    async logs(containerName, lines) {
      return serviceLogTail(docker, (await required(containerName)).ID, lines);
    },

    /** The spec's commit, else what its image bakes in (a service the stack made, not lugh). */
    async runningSha(containerName) {
      const service = await findService(docker, containerName);
      if (!service) return undefined;
      return shaOf(service) ?? (await imageShaOf(docker, imageOf(service.Spec)));
    },

    /** The spec's and the previous spec's image references and their local images (cleanup keeps them). */
    async imagesInUse(containerName) {
      const service = await findService(docker, containerName);
      const refs = [
        imageOf(service?.Spec),
        imageOf(service?.PreviousSpec),
        // The version before, when stopping a surplus made the current spec the previous one.
        deps.replacedImages.get(containerName),
      ].filter((r): r is string => !!r);
      const ids = await Promise.all(
        refs.map((ref) =>
          docker
            .getImage(ref)
            .inspect()
            .then((i) => i.Id)
            .catch(() => undefined),
        ),
      );
      // The references too: a digest the service runs stays in the registry even when this
      // engine no longer has its image (registry retention reads them, image-registry.ts).
      return [...new Set([...ids.filter((id): id is string => !!id), ...refs])];
    },

    /**
     * After a crash: leftover migration jobs go; an update Swarm is still carrying out (or
     * rolling back) is waited for; an unverified update goes back to what it replaced. Once
     * that version runs (put back now, or by Swarm's rollback while the deploy was gone), the
     * surplus tasks Swarm may have left are stopped, and the text says so.
     */
    async converge(containerName, unverified) {
      const done = await removeLeftoverJobs(containerName);
      const before = await findService(docker, containerName);
      if (!before) return done.length ? done.join('; ') : undefined;
      const moving = before.UpdateStatus?.State;
      const service = await settled(docker, containerName, ROLLBACK_WAIT_MS);
      if (moving === 'updating' || moving === 'rollback_started')
        done.push(`waited for Swarm's ${moving === 'updating' ? 'update' : 'rollback'} to end`);
      if (!service || !unverified) return done.length ? done.join('; ') : undefined;
      const image = imageOf(service.Spec);
      // A deploy may reuse the very image it replaces, with its commit in the env: the spec's
      // commit, when both are known, tells the two apart.
      const sha = shaOf(service);
      const wanted = unverified.replacedSha;
      const backTo = unverified.replacedId;
      const said: string[] = [];
      const say = async (text: string) => {
        said.push(text);
      };
      if (image === backTo && !(wanted && sha && sha !== wanted)) {
        // Back already (Swarm rolled the update back while the deploy was gone): a rollback
        // over failing tasks may have left a surplus all the same. Not when only the image
        // says so and the update completed: that may be the unverified update itself, reusing
        // the image, and the surplus stop would make its spec the one a rollback returns to.
        if (service.UpdateStatus?.State === 'rollback_completed' || (wanted && sha === wanted))
          await settledBack(deps, containerName, { image: backTo, sha: wanted }, say);
      } else {
        const token = tokenOf(service.Spec);
        if (token && (await putBack(deps, containerName, { token, image: backTo, sha: wanted }))) {
          await settledBack(deps, containerName, { image: backTo, sha: wanted }, say);
          done.push(`put ${containerName} back to ${backTo} (its update was not verified)`);
        } else {
          // Not this deploy's update (a person deployed the stack meanwhile): theirs stands.
          done.push(
            `left ${containerName} at ${image}: its spec is no longer the interrupted deploy's update`,
          );
        }
      }
      done.push(...said);
      return done.length ? done.join('; ') : undefined;
    },

    // A self-deploy's run resumed in the task its update started (swarm-resume.ts).
    completedSwitch: (containerName, replaced, target) =>
      completedSwitch(docker, containerName, replaced, target),

    runMigration: (opts) => runSwarmMigration(docker, opts, deps.auth),

    /** Issues the service update (the new tasks start beside the old ones, start-first). */
    async startPreflight(target) {
      await required(target.containerName);
      const service = (await settled(docker, target.containerName, SETTLE_BEFORE_MS)) as ServiceInfo;
      const token = `${target.sha.slice(0, 12)}-${randomBytes(4).toString('hex')}`;
      const imageEnv = await docker
        .getImage(target.image)
        .inspect()
        .then((i) => i.Config?.Env ?? [])
        .catch(() => []);
      const spec = planServiceUpdate(
        service.Spec,
        { image: target.image, sha: target.sha, token },
        { monitorMs: monitorOf(deps, service), imageEnv },
      );
      deps.issuedAfter.set(token, service.UpdateStatus?.StartedAt);
      deps.replacedImages.delete(target.containerName);
      await updateService(docker, service, spec, { auth: deps.auth });
      log.info({ service: target.containerName, image: target.image, token }, 'issued the service update');
      return { target, id: token, currentId: imageOf(service.Spec) ?? '' };
    },

    awaitPreflight: (preflight, deadlineMs, progress) => awaitTasks(deps, preflight, deadlineMs, progress),

    /**
     * The deploy stopped before its switch: the update goes back (Swarm may have put it back
     * already), then the surplus tasks Swarm may have left are stopped (logged: the undo has
     * no chat of its own).
     */
    async removePreflight(preflight) {
      const name = preflight.target.containerName;
      const back = { image: preflight.currentId };
      const said = async (text: string) => log.warn({ service: name }, text);
      if (await putBack(deps, name, { token: preflight.id, ...back })) {
        await settledBack(deps, name, back, said);
        return;
      }
      // Swarm is rolling this update back itself, or has (a rollback state, the spec back at
      // the version it replaced): that rollback is waited out and cleaned up. An update
      // someone else started since is theirs, and left to them.
      const service = await findService(docker, name);
      const rolling = /^rollback_/.test(service?.UpdateStatus?.State ?? '');
      if (service && rolling && imageOf(service.Spec) === back.image)
        await settledBack(deps, name, back, said);
    },

    switchOver: (preflight, deadlineMs, holdLock, progress) =>
      awaitCompleted(deps, preflight, deadlineMs, holdLock, progress),
    verify: (switched, windowMs, progress) => watchTasks(deps, switched, windowMs, progress),
    rollback: (switched, reason) => rollBack(deps, switched, reason),
  };
}
