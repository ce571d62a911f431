// The Swarm runtime's tests run on the shared engine made a single-node swarm manager
// (`docker swarm init --advertise-addr 127.0.0.1`, which .ci/run does before the suite).
// The swarm is left on after the tests: the other tests' containers, networks and compose
// projects are unaffected by swarm mode, and a test leaving it would break the swarm tests
// running beside it. Everything a test makes is named uniquely and labelled `lugh.test`.
import type Docker from 'dockerode';
import { createDockerClient } from './docker.js';

/** The label every swarm object a test makes carries (`lugh.test=<run>`), for its removal. */
export const TEST_LABEL = 'lugh.test';

/**
 * Makes the engine a swarm manager when it is not in a swarm yet; true when it is one.
 * An engine that is a swarm's worker (not a manager) cannot run the tests: false.
 */
export async function ensureSwarm(docker: Docker = createDockerClient()): Promise<boolean> {
  const info = await docker.info();
  if (info.Swarm?.LocalNodeState === 'active') return info.Swarm.ControlAvailable === true;
  try {
    await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
  } catch (error) {
    // Another test file initialised it at the same moment: fine if it is a manager now.
    const again = await docker.info();
    if (again.Swarm?.LocalNodeState !== 'active') throw error;
  }
  return true;
}

/**
 * Removes the swarm services, secrets, configs and networks labelled `lugh.test=<run>`
 * (services first: a network or secret in use cannot go). Never anything else.
 */
export async function removeSwarmResources(docker: Docker, run: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${TEST_LABEL}=${run}`] });
  for (const s of await docker.listServices({ filters }).catch(() => [])) {
    await docker
      .getService(s.ID)
      .remove()
      .catch(() => {});
  }
  // A removed service's tasks leave their containers for a few seconds; networks wait for them.
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${TEST_LABEL}=${run}`] },
    });
    if (!left.some((c) => c.Labels['com.docker.swarm.service.id'])) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const s of await docker.listSecrets({ filters }).catch(() => [])) {
    await docker
      .getSecret(s.ID)
      .remove()
      .catch(() => {});
  }
  for (const n of await docker.listNetworks({ filters }).catch(() => [])) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
}
