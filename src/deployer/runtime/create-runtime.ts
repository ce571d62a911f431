import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import type { Failpoints } from '../failpoints.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { createDockerRuntime } from './docker-runtime.js';
import type { Runtime } from './runtime.js';
import { createSwarmRuntime, type RegistryAuth } from './swarm-runtime.js';

/** What either runtime is built from; each takes the parts it uses. */
export interface RuntimeChoice {
  /** DEPLOY_RUNTIME. */
  readonly kind: 'docker' | 'swarm';
  readonly docker: Docker;
  readonly logger: Logger;
  readonly failpoints?: Failpoints;
  /** Docker only: the reverse proxy a switch re-points (DEPLOY_PROXY_ADMIN_URL). */
  readonly proxy?: TrafficProxy;
  /** Swarm only: the registry's credentials the nodes pull with. */
  readonly registryAuth?: RegistryAuth;
  /** Swarm only: UpdateConfig.Monitor. */
  readonly monitorMs?: number;
}

/** The one place the runtime is chosen (DEPLOY_RUNTIME): Docker switches containers itself, Swarm updates a service. */
export function createRuntime(choice: RuntimeChoice): Runtime {
  const { docker, logger, failpoints } = choice;
  return choice.kind === 'swarm'
    ? createSwarmRuntime({
        docker,
        logger,
        failpoints,
        registryAuth: choice.registryAuth,
        monitorMs: choice.monitorMs,
      })
    : createDockerRuntime({ docker, logger, failpoints, proxy: choice.proxy });
}
