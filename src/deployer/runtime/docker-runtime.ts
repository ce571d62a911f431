import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { extraNetworks, planSwitch, snapshotOf } from '../container-plan.js';
import { findContainer, logTail } from '../docker-helpers.js';
import { MigrationFailedError, RolledBackError, UnhealthyBeforeSwitchError } from '../errors.js';
import type { MigrationTarget, Preflight, Runtime, Switched, SwitchTarget } from './runtime.js';

export { RolledBackError, UnhealthyBeforeSwitchError } from '../errors.js';

export interface SwitchOptions extends SwitchTarget {
  /** How long a new container may take to report healthy. */
  readonly healthDeadlineMs: number;
  /** How long the switched container must stay healthy before the deploy counts as done. */
  readonly verifyMs: number;
  /** Called as each phase starts. */
  readonly onPhase?: (phase: 'start' | 'health' | 'switch' | 'verify' | 'rollback') => void;
}

/** The Docker runtime, and the whole switch in one call for those who want no steps. */
export interface DockerRuntime extends Runtime {
  switchTo(opts: SwitchOptions): Promise<{ containerId: string; previousName: string }>;
}

const POLL_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Docker runtime: dockerode on one engine, lugh switching containers itself. A running
 * container is replaced by one of a new image, gated on Docker's health status: a
 * pre-flight container (no host ports) must become healthy before the old one stops; the
 * final container must become and stay healthy, or the previous one is started again.
 * The previous container is kept, stopped, under `<name>-previous` for /rollback.
 */
export function createDockerRuntime(options: { docker: Docker; logger: Logger }) {
  const { docker } = options;
  const log = options.logger.child({ component: 'container-switch' });

  /** 'healthy' once Docker says so; 'unhealthy' if it says so, exits, or the deadline passes. */
  const waitHealthy = async (
    container: Docker.Container,
    deadlineMs: number,
  ): Promise<'healthy' | 'unhealthy'> => {
    const until = Date.now() + deadlineMs;
    while (Date.now() < until) {
      const state = (await container.inspect()).State;
      if (!state.Running) return 'unhealthy';
      if (state.Health?.Status === 'healthy') return 'healthy';
      if (state.Health?.Status === 'unhealthy') return 'unhealthy';
      await sleep(POLL_MS);
    }
    return 'unhealthy';
  };

  /** Stays healthy through the whole window. */
  const staysHealthy = async (container: Docker.Container, windowMs: number): Promise<boolean> => {
    const until = Date.now() + windowMs;
    while (Date.now() < until) {
      const state = (await container.inspect()).State;
      if (!state.Running || state.Health?.Status === 'unhealthy') return false;
      await sleep(POLL_MS);
    }
    return true;
  };

  const createFrom = async (
    spec: Docker.ContainerCreateOptions,
    networks: ReadonlyArray<readonly [string, readonly string[]]>,
  ) => {
    const container = await docker.createContainer(spec);
    for (const [network, aliases] of networks) {
      await docker
        .getNetwork(network)
        .connect({ Container: container.id, EndpointConfig: { Aliases: [...aliases] } });
    }
    return container;
  };

  const removeQuietly = (container: Docker.Container) => container.remove({ force: true }).catch(() => {});

  const findByName = (name: string) => findContainer(docker, name);

  const runtime: DockerRuntime = {
    /** Fails with what to do when the container a deploy would replace does not exist. */
    async requireContainer(containerName: string): Promise<void> {
      if (!(await findByName(containerName)) && !(await findByName(`${containerName}-previous`))) {
        throw new Error(
          `there is no container ${containerName} to replace: start the environment first (docker-compose up -d), or set DEPLOY_CONTAINER`,
        );
      }
    },

    /** The last `lines` lines a container printed (stdout and stderr). */
    async logs(containerName: string, lines: number): Promise<string[]> {
      const info = await findByName(containerName);
      if (!info) throw new Error(`there is no container ${containerName}`);
      return logTail(docker.getContainer(info.Id), lines);
    },

    /** The commit the app container runs (its GIT_SHA), if it says. */
    async runningSha(containerName: string): Promise<string | undefined> {
      const info = await findByName(containerName);
      return info?.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);
    },

    /** Image ids of the app container and of the previous one kept for rollback. */
    async imagesInUse(containerName: string): Promise<string[]> {
      const found = await Promise.all([findByName(containerName), findByName(`${containerName}-previous`)]);
      return found.flatMap((c) => (c ? [c.Image] : []));
    },

    /**
     * Puts an environment back to exactly one app container after a deploy was killed
     * part-way: leftover pre-flight and one-off containers go; an app container that a
     * crash left missing or never started gives way to the previous one, started again.
     * Returns what it did, or undefined when there was nothing to do.
     */
    async converge(containerName: string): Promise<string | undefined> {
      const done: string[] = [];
      const leftovers = await docker.listContainers({
        all: true,
        filters: { name: [`^/${containerName}-(preflight|migrate)-`] },
      });
      for (const c of leftovers) {
        await removeQuietly(docker.getContainer(c.Id));
        done.push(`removed ${c.Names[0]?.replace(/^\//, '')}`);
      }
      const app = await findByName(containerName);
      const previous = await findByName(`${containerName}-previous`);
      if (app?.State.Running) return done.length ? done.join('; ') : undefined;
      if (app && previous) {
        // Killed between creating the new container and starting it.
        await removeQuietly(docker.getContainer(app.Id));
        done.push(`removed the unstarted ${containerName}`);
      }
      const ensureStarted = (c: Docker.Container) =>
        c.start().catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 304) throw error; // 304: already running
        });
      if (previous) {
        const container = docker.getContainer(previous.Id);
        await container.rename({ name: containerName });
        await ensureStarted(container);
        done.push(`started the previous ${containerName} again`);
      } else if (app) {
        await ensureStarted(docker.getContainer(app.Id));
        done.push(`started ${containerName} again`);
      }
      return done.length ? done.join('; ') : undefined;
    },

    /**
     * Runs the command an image declares in its `lugh.migrate` label (a JSON array) in a
     * one-off container with the running container's environment and networks. Returns
     * undefined when the image declares none.
     */
    async runMigration(opts: MigrationTarget): Promise<{ command: string[]; logTail: string[] } | undefined> {
      const label = (await docker.getImage(opts.image).inspect()).Config?.Labels?.['lugh.migrate'];
      if (!label) return undefined;
      let command: string[];
      try {
        command = JSON.parse(label);
        if (!Array.isArray(command) || !command.every((c) => typeof c === 'string')) throw new Error();
      } catch {
        throw new MigrationFailedError(
          `${opts.image} has a lugh.migrate label that is not a JSON array of strings: ${label}`,
          [],
        );
      }
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
      await findByName(spec.name as string).then((c) => c && removeQuietly(docker.getContainer(c.Id)));
      const container = await createFrom(spec, extraNetworks(snapshot));
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
    },

    async startPreflight(target: SwitchTarget): Promise<Preflight> {
      const info = await docker.getContainer(target.containerName).inspect();
      const oldImage = await docker.getImage(info.Image).inspect();
      const snapshot = snapshotOf(info, oldImage.Config);
      const plan = planSwitch(snapshot, target.image, target.sha);
      const networks = extraNetworks(snapshot);
      const preflight = await createFrom(plan.preflight, networks);
      try {
        await preflight.start();
      } catch (error) {
        await removeQuietly(preflight);
        throw error;
      }
      // By id: the name moves to the new container during the switch.
      return { target, id: preflight.id, currentId: info.Id, plan, networks };
    },

    async awaitPreflight(preflight: Preflight, deadlineMs: number): Promise<void> {
      const container = docker.getContainer(preflight.id);
      try {
        if ((await waitHealthy(container, deadlineMs)) !== 'healthy') {
          const tail = await logTail(container);
          const { image, containerName } = preflight.target;
          throw new UnhealthyBeforeSwitchError(
            `${image} did not become healthy within ${Math.round(deadlineMs / 1000)} s; ${containerName} keeps running`,
            tail,
          );
        }
      } finally {
        await removeQuietly(container);
      }
    },

    removePreflight: (preflight: Preflight) => removeQuietly(docker.getContainer(preflight.id)),

    async switchOver(preflight: Preflight, deadlineMs: number): Promise<Switched> {
      const { plan, target } = preflight;
      const current = docker.getContainer(preflight.currentId);
      const stale = docker.getContainer(plan.previousName);
      await stale.remove({ force: true }).catch(() => {});
      await current.stop({ t: 10 }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) throw error; // 304: already stopped
      });
      await current.rename({ name: plan.previousName });
      const next = await createFrom(plan.final, preflight.networks);
      const switched = {
        target,
        nextId: next.id,
        currentId: preflight.currentId,
        previousName: plan.previousName,
      };
      try {
        await next.start();
      } catch (error) {
        throw await runtime.rollback(switched, `could not start (${(error as Error).message})`);
      }
      if ((await waitHealthy(next, deadlineMs)) !== 'healthy') {
        throw await runtime.rollback(switched, 'did not become healthy after the switch');
      }
      return switched;
    },

    async verify(switched: Switched, windowMs: number): Promise<void> {
      if (!(await staysHealthy(docker.getContainer(switched.nextId), windowMs))) {
        throw await runtime.rollback(
          switched,
          `did not stay healthy for ${Math.round(windowMs / 1000)} s after the switch`,
        );
      }
    },

    async rollback(switched: Switched, reason: string): Promise<RolledBackError> {
      const next = docker.getContainer(switched.nextId);
      const current = docker.getContainer(switched.currentId);
      const tail = await logTail(next);
      await removeQuietly(next);
      await current.rename({ name: switched.target.containerName });
      await current.start();
      log.warn({ image: switched.target.image, reason }, 'rolled back to the previous container');
      return new RolledBackError(`${switched.target.image} ${reason}; the previous version runs again`, tail);
    },

    /** The whole switch in one call, phase after phase; a deploy runs the phases as its steps. */
    async switchTo(opts: SwitchOptions): Promise<{ containerId: string; previousName: string }> {
      const phase = (name: 'start' | 'health' | 'switch' | 'verify' | 'rollback') => opts.onPhase?.(name);
      phase('start');
      const preflight = await runtime.startPreflight(opts);
      phase('health');
      await runtime.awaitPreflight(preflight, opts.healthDeadlineMs);
      phase('switch');
      const switched = await runtime.switchOver(preflight, opts.healthDeadlineMs).catch((error: unknown) => {
        if (error instanceof RolledBackError) phase('rollback');
        throw error;
      });
      phase('verify');
      await runtime.verify(switched, opts.verifyMs).catch((error: unknown) => {
        if (error instanceof RolledBackError) phase('rollback');
        throw error;
      });
      return { containerId: switched.nextId, previousName: switched.previousName };
    },
  };
  return runtime;
}
