import type Docker from 'dockerode';
import { MigrationFailedError } from '../errors.js';
import { sleep } from './docker-containers.js';
import { migrationCommandOf } from './docker-migration.js';
import type { MigrationTarget } from './runtime.js';
import { SHA_LABEL, UPDATE_LABEL } from './swarm-plan.js';
import {
  findService,
  noService,
  type RegistryAuth,
  SWARM_POLL_MS,
  serviceLogTail,
  tasksOf,
  whyTaskEnded,
} from './swarm-service.js';

// The migration on Swarm runs as a one-off job service (Mode ReplicatedJob, one completion,
// never restarted), chosen over a `docker run` on the manager: a job is scheduled like the
// app (its placement), gets the app service's Docker secrets (which only services can
// mount: a plain container would need them in its environment), joins the app's overlay
// networks even when they are not attachable, and pulls the image by digest with the
// registry's credentials on whichever node it lands.

/** The label naming the app service a migration job belongs to (converge removes leftovers). */
export const MIGRATE_OF_LABEL = 'lugh.migrate-of';

/** The job's spec: the app service's task (env, secrets, networks, placement) with the new image and the migration command. */
export function planMigrationJob(
  app: Docker.ServiceSpec,
  opts: { readonly name: string; readonly serviceName: string; readonly image: string; readonly sha: string },
  command: readonly string[],
): Docker.ServiceSpec {
  const template = (app.TaskTemplate ?? {}) as Docker.ContainerTaskSpec;
  const container = template.ContainerSpec ?? {};
  const { [UPDATE_LABEL]: _token, ...containerLabels } = container.Labels ?? {};
  // Not a member of the stack: `docker stack deploy --prune` must not count it, and /status lists the app's.
  const labels = Object.fromEntries(
    Object.entries(app.Labels ?? {}).filter(([k]) => !k.startsWith('com.docker.stack.')),
  );
  const env = (container.Env ?? []).filter((e) => !e.startsWith('GIT_SHA='));
  return {
    Name: opts.name,
    Labels: {
      ...labels,
      'lugh.role': 'migrate',
      [MIGRATE_OF_LABEL]: opts.serviceName,
      [SHA_LABEL]: opts.sha,
    },
    TaskTemplate: {
      ...template,
      ForceUpdate: 0,
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      ContainerSpec: {
        ...container,
        Image: opts.image,
        // Command replaces the image's entrypoint and Args its CMD (empty: none).
        Command: [...command],
        Args: [],
        Env: [...env, `GIT_SHA=${opts.sha}`],
        HealthCheck: { Test: ['NONE'] },
        Labels: { ...containerLabels, 'lugh.role': 'migrate', [SHA_LABEL]: opts.sha },
      },
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    ...(app.Networks ? { Networks: app.Networks } : {}),
  };
}

/** Removes a job service (its task's container goes with it). */
export async function removeJob(docker: Docker, id: string): Promise<void> {
  await docker
    .getService(id)
    .remove()
    .catch(() => {});
}

/**
 * Runs the migration the image declares (`lugh.migrate`) as a one-off Swarm job beside the
 * app service, and removes the job; undefined when the image declares none.
 */
export async function runSwarmMigration(
  docker: Docker,
  opts: MigrationTarget,
  auth?: RegistryAuth,
): Promise<{ command: string[]; logTail: string[] } | undefined> {
  const command = await migrationCommandOf(docker, opts.image);
  if (!command) return undefined;
  const app = await findService(docker, opts.containerName);
  if (!app) throw new Error(noService(opts.containerName));
  const name = `${opts.containerName}-migrate-${opts.sha.slice(0, 7)}`;
  const stale = await findService(docker, name);
  if (stale) await removeJob(docker, stale.ID);
  const spec = planMigrationJob(
    app.Spec,
    { name, serviceName: opts.containerName, image: opts.image, sha: opts.sha },
    command,
  );
  const created = (await docker.createService(
    auth ? ({ ...spec, authconfig: auth } as Docker.CreateServiceOptions) : spec,
  )) as { id?: string; ID?: string };
  const id = created.id ?? created.ID ?? name;
  try {
    const until = Date.now() + opts.timeoutMs;
    while (Date.now() < until) {
      const tasks = await tasksOf(docker, id);
      const done = tasks.find((t) => t.Status?.State === 'complete');
      if (done) return { command, logTail: await serviceLogTail(docker, id, 50) };
      const failed = tasks.find((t) =>
        ['failed', 'rejected', 'shutdown', 'orphaned'].includes(t.Status?.State ?? ''),
      );
      if (failed) {
        const { reason, logTail } = await whyTaskEnded(docker, failed);
        throw new MigrationFailedError(`the migration job ${name} ended: ${reason}`, logTail);
      }
      await sleep(SWARM_POLL_MS);
    }
    throw new MigrationFailedError(
      `the migration did not finish within ${Math.round(opts.timeoutMs / 1000)} s`,
      await serviceLogTail(docker, id, 50),
    );
  } finally {
    await removeJob(docker, id);
  }
}
