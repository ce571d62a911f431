// Where production's database lives, as far as the Swarm manager can tell: a Swarm service
// (by its name, its stack-qualified name or a network alias) or a container.
import type Docker from 'dockerode';
import { containerForHost, databaseOf, type EnvironmentFacts, networksOf } from '../../facts.js';
import type { SwarmServiceFacts } from '../../swarm-facts.js';

export type DatabaseHolder =
  | {
      readonly kind: 'service';
      readonly name: string;
      /** Network ids it is on. */
      readonly networks: readonly string[];
      /** `published/protocol (mode)` of the database's port. */
      readonly published: readonly string[];
    }
  | {
      readonly kind: 'container';
      readonly name: string;
      readonly networks: readonly string[];
      readonly published: readonly string[];
    };

interface RawService {
  Spec?: {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: { Networks?: Array<{ Target?: string; Aliases?: string[] }> };
  };
  Endpoint?: {
    Ports?: Array<{ TargetPort?: number; PublishedPort?: number; Protocol?: string; PublishMode?: string }>;
  };
}

/** The holder of production's database host, or undefined when neither a service nor a container is it. */
export async function databaseHolder(
  docker: Docker,
  p: EnvironmentFacts,
  service: SwarmServiceFacts | undefined,
): Promise<DatabaseHolder | undefined> {
  const db = databaseOf(p);
  if (!db) return undefined;
  const stack = service?.labels['com.docker.stack.namespace'];
  const services = (await docker.listServices().catch(() => [])) as RawService[];
  const mine = new Set(service?.networks.map((n) => n.id) ?? []);
  const hit = services.find((s) => {
    const name = s.Spec?.Name;
    if (name === db.host || (stack && name === `${stack}_${db.host}`)) return true;
    return (s.Spec?.TaskTemplate?.Networks ?? []).some(
      (n) => n.Target && mine.has(n.Target) && (n.Aliases ?? []).includes(db.host),
    );
  });
  if (hit)
    return {
      kind: 'service',
      name: hit.Spec?.Name ?? db.host,
      networks: (hit.Spec?.TaskTemplate?.Networks ?? []).flatMap((n) => (n.Target ? [n.Target] : [])),
      published: (hit.Endpoint?.Ports ?? [])
        .filter((x) => x.TargetPort === db.port && x.PublishedPort)
        .map((x) => `${x.PublishedPort}/${x.Protocol ?? 'tcp'} (${x.PublishMode ?? 'ingress'})`),
    };
  const container = await containerForHost(docker, db.host, service?.networks.map((n) => n.name) ?? []);
  if (!container) return undefined;
  const ids = Object.values(container.NetworkSettings?.Networks ?? {}).flatMap((n) =>
    n.NetworkID ? [n.NetworkID] : [],
  );
  return {
    kind: 'container',
    name: container.Name.replace(/^\//, ''),
    networks: [...ids, ...networksOf(container)],
    published: (container.NetworkSettings?.Ports?.[`${db.port}/tcp`] ?? []).map(
      (b) => `${b.HostIp || '0.0.0.0'}:${b.HostPort}`,
    ),
  };
}
