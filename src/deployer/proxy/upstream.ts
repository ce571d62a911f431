import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { PROXY_SERVER, type TrafficProxy } from './haproxy-proxy.js';

/**
 * Where a proxy reaches a container, as `<ip>:<port>`: its address on its first network
 * that gives it one, and the port it publishes (else the first TCP port it exposes; a
 * service's own port when given). Pure.
 * Undefined when it has no address (not running) or exposes no port.
 */
export function upstreamOf(info: ContainerInspectInfo, servicePort?: number): string | undefined {
  const ip = Object.values(info.NetworkSettings.Networks ?? {})
    .map((n) => n.IPAddress)
    .find((a) => a);
  const tcp = (ports: Record<string, unknown> | null | undefined) =>
    Object.keys(ports ?? {}).find((p) => p.endsWith('/tcp'));
  // A service of a set says the port it listens on (lugh.yml's `port`); its image may expose others.
  const port =
    servicePort !== undefined
      ? `${servicePort}/tcp`
      : (tcp(info.HostConfig.PortBindings) ?? tcp(info.Config.ExposedPorts));
  if (!ip || !port) return undefined;
  return `${ip}:${port.split('/')[0]}`;
}

/** Which server of which proxy backend a container serves as (`containersOf`); a name alone: `<name>/app`. */
export type Route = string | { readonly backend: string; readonly server: string; readonly port?: number };

/** A route's backend and server, and the port its container serves on when the service says. */
export function routeParts(route: Route): {
  readonly backend: string;
  readonly server: string;
  readonly port?: number;
} {
  return typeof route === 'string' ? { backend: route, server: PROXY_SERVER } : route;
}

/** Where the proxy reaches the container `id` for `route` (`ip:port`); undefined when it cannot (gone, not running). */
export async function dialOf(docker: Docker, route: Route, id: string): Promise<string | undefined> {
  const info = await docker
    .getContainer(id)
    .inspect()
    .catch(() => undefined);
  return info && upstreamOf(info, routeParts(route).port);
}

/** Points the proxy's `route` (the app container's name: its backend's server `app`) at the container `id` (running). */
export async function routeTo(
  docker: Docker,
  proxy: TrafficProxy,
  route: Route,
  id: string,
): Promise<string> {
  const info = await docker.getContainer(id).inspect();
  const dial = upstreamOf(info, routeParts(route).port);
  if (!dial) {
    throw new Error(
      `${info.Name.replace(/^\//, '')} has no address and port a proxy could send requests to (running: ${info.State.Running})`,
    );
  }
  const { backend, server } = routeParts(route);
  await proxy.sendTo(backend, dial, server);
  return dial;
}
