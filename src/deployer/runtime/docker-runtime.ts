import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { findContainer, logTail } from '../docker-helpers.js';
import { RolledBackError } from '../errors.js';
import { type Failpoints, noFailpoints } from '../failpoints.js';
import { runMigration } from './docker-migration.js';
import {
  awaitPreflight,
  converge,
  removePreflight,
  rollback,
  startPreflight,
  switchOver,
  verify,
} from './docker-switch.js';
import type { Runtime, SwitchTarget } from './runtime.js';

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

/**
 * The Docker runtime: dockerode on one engine, lugh switching containers itself. A running
 * container is replaced by one of a new image, gated on Docker's health status: a
 * pre-flight container (no host ports) must become healthy before the old one stops; the
 * final container must become and stay healthy, or the previous one is started again.
 * The previous container is kept, stopped, under `<name>-previous` for /rollback.
 */
export function createDockerRuntime(options: {
  docker: Docker;
  logger: Logger;
  /** Where fault tests pause a switch to kill it (`failpoints.ts`); none by default. */
  failpoints?: Failpoints;
}): DockerRuntime {
  const { docker } = options;
  const failpoints = options.failpoints ?? noFailpoints;
  const log = options.logger.child({ component: 'container-switch' });
  const findByName = (name: string) => findContainer(docker, name);

  const runtime: DockerRuntime = {
    async requireContainer(containerName) {
      if (!(await findByName(containerName)) && !(await findByName(`${containerName}-previous`))) {
        throw new Error(
          `there is no container ${containerName} to replace: start the environment first (docker-compose up -d), or set DEPLOY_CONTAINER`,
        );
      }
    },

    async logs(containerName, lines) {
      const info = await findByName(containerName);
      if (!info) throw new Error(`there is no container ${containerName}`);
      return logTail(docker.getContainer(info.Id), lines);
    },

    /** Its GIT_SHA. */
    async runningSha(containerName) {
      const info = await findByName(containerName);
      return info?.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);
    },

    async imagesInUse(containerName) {
      const found = await Promise.all([findByName(containerName), findByName(`${containerName}-previous`)]);
      return found.flatMap((c) => (c ? [c.Image] : []));
    },

    converge: (containerName, unverified) => converge(docker, containerName, unverified),
    runMigration: (opts) => runMigration(docker, opts),
    startPreflight: (target) => startPreflight(docker, target),
    awaitPreflight: (preflight, deadlineMs) => awaitPreflight(docker, preflight, deadlineMs),
    removePreflight: (preflight) => removePreflight(docker, preflight),
    switchOver: (preflight, deadlineMs, holdLock) =>
      switchOver(docker, log, preflight, deadlineMs, failpoints, holdLock),
    verify: (switched, windowMs) => verify(docker, log, switched, windowMs, failpoints),
    rollback: (switched, reason) => rollback(docker, log, switched, reason),

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
