import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { findContainer, logTail } from '../docker-helpers.js';
import { type Failpoints, noFailpoints } from '../failpoints.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { runMigration } from './docker-migration.js';
import { converge, routeOf } from './docker-putback.js';
import { createDockerSetRuntime } from './docker-set.js';
import {
  awaitPreflight,
  removePreflight,
  rollback,
  startPreflight,
  switchOver,
  verify,
} from './docker-switch.js';
import type { Runtime } from './runtime.js';

export { RolledBackError, UnhealthyBeforeSwitchError } from '../errors.js';

/**
 * The Docker runtime: dockerode on one engine, lugh switching containers itself. A running
 * container is replaced by one of a new image, gated on its health, read every 200 ms
 * from the app's own `/healthz` and from Docker's health status (`docker-containers.ts`): a
 * pre-flight container (no host ports) must become healthy before the old one stops; the
 * final container must become and stay healthy, or the previous one is started again.
 * The previous container is kept, stopped, under `<name>-previous` for /rollback.
 * With a proxy in front (DEPLOY_PROXY_ADMIN_URL), the healthy pre-flight takes the traffic
 * while the running container stops and the final one starts, and the final one takes it
 * once healthy: no request meets a stopped container, and a container the proxy sent requests
 * to leaves only once they are answered (`docker-retire.ts`).
 */
export function createDockerRuntime(options: {
  docker: Docker;
  logger: Logger;
  /** Where fault tests pause a switch to kill it (`failpoints.ts`); none by default. */
  failpoints?: Failpoints;
  /** The reverse proxy that owns the app's public port, if any (`proxy/haproxy-proxy.ts`). */
  proxy?: TrafficProxy;
}): Runtime {
  const { docker, proxy } = options;
  const failpoints = options.failpoints ?? noFailpoints;
  const log = options.logger.child({ component: 'container-switch' });
  const findByName = (name: string) => findContainer(docker, name);

  const runtime: Runtime = {
    name: 'docker',
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

    /**
     * Its GIT_SHA (what lugh's image bakes in and a switch sets); for a container lugh did not
     * make, else its COMMIT_SHA, its `lugh.sha` label or the OCI revision label, when a full SHA.
     */
    async runningSha(containerName) {
      const info = await findByName(containerName);
      if (!info) return undefined;
      const env = (name: string) =>
        info.Config.Env?.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
      const gitSha = env('GIT_SHA');
      if (gitSha) return gitSha;
      const labels = info.Config.Labels ?? {};
      return [env('COMMIT_SHA'), labels['lugh.sha'], labels['org.opencontainers.image.revision']].find(
        (v) => v !== undefined && /^[0-9a-f]{40}$/.test(v),
      );
    },

    async imagesInUse(containerName) {
      const found = await Promise.all([findByName(containerName), findByName(`${containerName}-previous`)]);
      return found.flatMap((c) => (c ? [c.Image] : []));
    },

    converge: (containerName, unverified) => converge(docker, log, containerName, unverified, proxy),
    runMigration: (opts) => runMigration(docker, opts),
    startPreflight: (target) => startPreflight(docker, target),
    awaitPreflight: (preflight, deadlineMs) =>
      awaitPreflight(docker, preflight, deadlineMs, !!proxy && routeOf(preflight.target) !== undefined),
    removePreflight: (preflight) => removePreflight(docker, preflight),
    switchOver: (preflight, deadlineMs, holdLock) =>
      switchOver(docker, log, preflight, deadlineMs, failpoints, holdLock, proxy),
    verify: (switched, windowMs) => verify(docker, log, switched, windowMs, failpoints, proxy),
    rollback: (switched, reason) => rollback(docker, log, switched, reason, proxy),
    ...createDockerSetRuntime({ docker, log, failpoints, proxy }),
  };
  return runtime;
}
