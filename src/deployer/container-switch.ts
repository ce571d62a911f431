import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { extraNetworks, planSwitch, snapshotOf } from './container-plan.js';
import { RolledBackError, UnhealthyBeforeSwitchError } from './errors.js';

export { RolledBackError, UnhealthyBeforeSwitchError } from './errors.js';

export interface SwitchOptions {
  readonly containerName: string;
  readonly image: string;
  readonly sha: string;
  /** How long a new container may take to report healthy. */
  readonly healthDeadlineMs: number;
  /** How long the switched container must stay healthy before the deploy counts as done. */
  readonly verifyMs: number;
  /** Called as each phase starts, for progress messages and step records. */
  readonly onPhase?: (phase: 'start' | 'health' | 'switch' | 'verify' | 'rollback') => void;
}

const POLL_MS = 500;
const LOG_LINES = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replaces a running container by one of a new image, gated on Docker's health status:
 * a pre-flight container (no host ports) must become healthy before the old one stops;
 * the final container must become and stay healthy, or the previous one is started again.
 * The previous container is kept, stopped, under `<name>-previous` for /rollback.
 */
export function createContainerSwitch(options: { docker: Docker; logger: Logger }) {
  const { docker } = options;
  const log = options.logger.child({ component: 'container-switch' });

  const logTail = async (container: Docker.Container): Promise<string[]> => {
    const buffer = (await container
      .logs({ stdout: true, stderr: true, tail: LOG_LINES, follow: false })
      .catch(() => Buffer.alloc(0))) as Buffer;
    // Docker multiplexes stdout and stderr with an 8-byte header per frame.
    const lines: string[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
      const size = buffer.readUInt32BE(offset + 4);
      lines.push(
        ...buffer
          .subarray(offset + 8, offset + 8 + size)
          .toString('utf8')
          .split('\n'),
      );
      offset += 8 + size;
    }
    return lines.filter((l) => l.trim()).slice(-LOG_LINES);
  };

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
    networks: Array<[string, readonly string[]]>,
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

  return {
    async switchTo(opts: SwitchOptions): Promise<{ containerId: string; previousName: string }> {
      const info = await docker.getContainer(opts.containerName).inspect();
      // By id: the name moves to the new container during the switch.
      const current = docker.getContainer(info.Id);
      const oldImage = await docker.getImage(info.Image).inspect();
      const snapshot = snapshotOf(info, oldImage.Config);
      const plan = planSwitch(snapshot, opts.image, opts.sha);
      const networks = extraNetworks(snapshot);

      opts.onPhase?.('start');
      const preflight = await createFrom(plan.preflight, networks);
      try {
        await preflight.start();
        opts.onPhase?.('health');
        if ((await waitHealthy(preflight, opts.healthDeadlineMs)) !== 'healthy') {
          const tail = await logTail(preflight);
          throw new UnhealthyBeforeSwitchError(
            `${opts.image} did not become healthy within ${Math.round(opts.healthDeadlineMs / 1000)} s; ${opts.containerName} keeps running`,
            tail,
          );
        }
      } finally {
        await removeQuietly(preflight);
      }

      opts.onPhase?.('switch');
      const stale = docker.getContainer(plan.previousName);
      await stale.remove({ force: true }).catch(() => {});
      await current.stop({ t: 10 }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) throw error; // 304: already stopped
      });
      await current.rename({ name: plan.previousName });
      const next = await createFrom(plan.final, networks);
      const rollback = async (reason: string) => {
        opts.onPhase?.('rollback');
        const tail = await logTail(next);
        await removeQuietly(next);
        await current.rename({ name: opts.containerName });
        await current.start();
        log.warn({ image: opts.image, reason }, 'rolled back to the previous container');
        return new RolledBackError(`${opts.image} ${reason}; the previous version runs again`, tail);
      };
      try {
        await next.start();
      } catch (error) {
        throw await rollback(`could not start (${(error as Error).message})`);
      }
      if ((await waitHealthy(next, opts.healthDeadlineMs)) !== 'healthy') {
        throw await rollback('did not become healthy after the switch');
      }
      opts.onPhase?.('verify');
      if (!(await staysHealthy(next, opts.verifyMs))) {
        throw await rollback(
          `did not stay healthy for ${Math.round(opts.verifyMs / 1000)} s after the switch`,
        );
      }
      return { containerId: next.id, previousName: plan.previousName };
    },
  };
}
