// Read-only questions to a Swarm manager for /status: a service, its tasks and the nodes
// they run on (DEPLOY_RUNTIME=swarm; DEPLOY_CONTAINER names the service).
import type Docker from 'dockerode';
import { describeDockerError } from '../deployer/errors.js';
import {
  type RawService,
  type RawTask,
  type SwarmServiceStatus,
  swarmServiceStatus,
} from '../status/swarm-status.js';

const statusCode = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * The Swarm service `name` as /status shows it: one inspect, one task list, one node list,
 * and an inspect of each running task's container this engine holds (its health check).
 */
export async function readSwarmService(docker: Docker, name: string): Promise<SwarmServiceStatus> {
  let service: RawService;
  try {
    service = (await docker.getService(name).inspect()) as RawService;
  } catch (error) {
    if (statusCode(error) === 404) throw new Error(`there is no Swarm service ${name}`);
    throw new Error(describeDockerError(error));
  }
  const [tasks, nodes] = await Promise.all([
    docker.listTasks({ filters: JSON.stringify({ service: [service.ID] }) }) as Promise<RawTask[]>,
    docker
      .listNodes()
      .then((list) => new Map(list.map((n) => [n.ID, n.Description?.Hostname ?? n.ID] as [string, string])))
      .catch(() => new Map<string, string>()),
  ]);
  // Only the tasks on this engine's node can be inspected; others' health stays unknown.
  const health = new Map<string, string>();
  await Promise.all(
    tasks
      .filter((t) => t.DesiredState === 'running' && t.Status?.State === 'running')
      .map(async (t) => {
        const id = t.Status?.ContainerStatus?.ContainerID;
        if (!id) return;
        const info = await docker
          .getContainer(id)
          .inspect()
          .catch(() => undefined);
        const status = info?.State.Health?.Status;
        if (status) health.set(id, status);
      }),
  );
  return swarmServiceStatus({ service, tasks, nodes, health });
}
