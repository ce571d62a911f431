import type Docker from 'dockerode';

const POLL_MS = 500;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 'healthy' once Docker says so; 'unhealthy' if it says so, exits, or the deadline passes. */
export async function waitHealthy(
  container: Docker.Container,
  deadlineMs: number,
): Promise<'healthy' | 'unhealthy'> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const state = (await container.inspect()).State;
    if (!state.Running) return 'unhealthy';
    if (state.Health?.Status === 'healthy') return 'healthy';
    if (state.Health?.Status === 'unhealthy') return 'unhealthy';
    await sleep(POLL_MS);
  }
  return 'unhealthy';
}

/** Stays healthy through the whole window. */
export async function staysHealthy(container: Docker.Container, windowMs: number): Promise<boolean> {
  const until = Date.now() + windowMs;
  while (Date.now() < until) {
    const state = (await container.inspect()).State;
    if (!state.Running || state.Health?.Status === 'unhealthy') return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** Creates a planned container; networks beyond the first are connected before it starts (Docker's API limit). */
export async function createFrom(
  docker: Docker,
  spec: Docker.ContainerCreateOptions,
  networks: ReadonlyArray<readonly [string, readonly string[]]>,
): Promise<Docker.Container> {
  const container = await docker.createContainer(spec);
  try {
    for (const [network, aliases] of networks) {
      await docker
        .getNetwork(network)
        .connect({ Container: container.id, EndpointConfig: { Aliases: [...aliases] } });
    }
  } catch (error) {
    // Half made: it would hold the name (the app's, for a switch's final container).
    await removeQuietly(container);
    throw error;
  }
  return container;
}

export const removeQuietly = (container: Docker.Container) =>
  container.remove({ force: true }).catch(() => {});
