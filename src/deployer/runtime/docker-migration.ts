import type Docker from 'dockerode';
import { planSwitch, snapshotOf } from '../container-plan.js';
import { findContainer, logTail } from '../docker-helpers.js';
import { MigrationFailedError } from '../errors.js';
import { createFrom, removeQuietly, sleep } from './docker-containers.js';
import type { MigrationTarget } from './runtime.js';

/** The command an image declares in its `lugh.migrate` label (a JSON array), or undefined. */
export async function migrationCommandOf(docker: Docker, image: string): Promise<string[] | undefined> {
  const label = (await docker.getImage(image).inspect()).Config?.Labels?.['lugh.migrate'];
  if (!label) return undefined;
  try {
    const command: unknown = JSON.parse(label);
    if (Array.isArray(command) && command.every((c) => typeof c === 'string')) return command;
  } catch {
    // said below
  }
  throw new MigrationFailedError(
    `${image} has a lugh.migrate label that is not a JSON array of strings: ${label}`,
    [],
  );
}

/**
 * Runs the command an image declares in its `lugh.migrate` label (a JSON array) in a
 * one-off container with the running container's environment and networks. Returns
 * undefined when the image declares none.
 */
export async function runMigration(
  docker: Docker,
  opts: MigrationTarget,
): Promise<{ command: string[]; logTail: string[] } | undefined> {
  const command = await migrationCommandOf(docker, opts.image);
  if (!command) return undefined;
  const info = await docker.getContainer(opts.containerName).inspect();
  const oldImage = await docker.getImage(info.Image).inspect();
  const snapshot = snapshotOf(info, oldImage.Config);
  const plan = planSwitch(snapshot, opts.image, opts.sha);
  const spec: Docker.ContainerCreateOptions = {
    ...plan.preflight,
    name: `${opts.containerName}-migrate-${opts.sha.slice(0, 7)}`,
    Entrypoint: [],
    Cmd: command,
    Healthcheck: { Test: ['NONE'] },
    Labels: { ...plan.preflight.Labels, 'lugh.role': 'migrate' },
  };
  await findContainer(docker, spec.name as string).then((c) => c && removeQuietly(docker.getContainer(c.Id)));
  // Like a pre-flight, it answers to no alias of the service's.
  const container = await createFrom(docker, spec, plan.extraNetworks.preflight);
  try {
    await container.start();
    const exit = (await Promise.race([container.wait(), sleep(opts.timeoutMs).then(() => undefined)])) as
      | { StatusCode: number }
      | undefined;
    const tail = await logTail(container);
    if (!exit)
      throw new MigrationFailedError(
        `the migration did not finish within ${Math.round(opts.timeoutMs / 1000)} s`,
        tail,
      );
    if (exit.StatusCode !== 0)
      throw new MigrationFailedError(`the migration exited with code ${exit.StatusCode}`, tail);
    return { command, logTail: tail };
  } finally {
    await removeQuietly(container);
  }
}
