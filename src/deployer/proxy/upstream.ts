import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import type { TrafficProxy } from './haproxy-proxy.js';

/**
 * Where a proxy reaches a container, as `<ip>:<port>`: its address on its first network
 * that gives it one, and the port it publishes (else the first TCP port it exposes). Pure.
 * Undefined when it has no address (not running) or exposes no port.
 */
export function upstreamOf(info: ContainerInspectInfo): string | undefined {
  const ip = Object.values(info.NetworkSettings.Networks ?? {})
    .map((n) => n.IPAddress)
    .find((a) => a);
  const tcp = (ports: Record<string, unknown> | null | undefined) =>
    Object.keys(ports ?? {}).find((p) => p.endsWith('/tcp'));
  const port = tcp(info.HostConfig.PortBindings) ?? tcp(info.Config.ExposedPorts);
  if (!ip || !port) return undefined;
  return `${ip}:${port.split('/')[0]}`;
}

/** Points the proxy of `containerName`'s traffic at the container `id` (running). */
export async function routeTo(
  docker: Docker,
  proxy: TrafficProxy,
  containerName: string,
  id: string,
): Promise<string> {
  const info = await docker.getContainer(id).inspect();
  const dial = upstreamOf(info);
  if (!dial) {
    throw new Error(
      `${info.Name.replace(/^\//, '')} has no address and port a proxy could send requests to (running: ${info.State.Running})`,
    );
  }
  await proxy.sendTo(containerName, dial);
  return dial;
}
