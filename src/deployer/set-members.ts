import type { Route } from './proxy/upstream.js';
import type { SetMember } from './runtime/runtime.js';
import { APP_SERVICE, containersOf, type ServiceSet } from './service-set.js';

// A service set's containers as a deploy moves them, and what each one's record
// (deployment_services.detail) says it replaced: pure, shared by the runtime that switches
// them (runtime/docker-set.ts) and the step runner that converges them after a crash.

/** What a container's record says it replaced, at 'switching' and 'switched' (read back by `replacedByRecord`). */
export const replacesDetail = (id: string) => `replaces ${id}`;
/** The record of a container this deployment created (a new service or replica). */
export const NEW_CONTAINER = 'new container';

/** What a set container's recorded detail says it replaced: an id, `new`, or nothing known. */
export function replacedByRecord(detail: string | null | undefined): {
  replacedId?: string;
  created?: boolean;
} {
  if (detail === NEW_CONTAINER) return { created: true };
  const match = /^replaces ([0-9a-f]{12,64})$/.exec(detail ?? '');
  return match ? { replacedId: match[1] } : {};
}

/**
 * The set's containers as their switches need them, in `containersOf` order. With a proxy,
 * the app's containers (as for one service) and those of every service with `traffic: true`
 * take traffic, each replica through its own server of its service's backend.
 */
export function membersOf(set: ServiceSet, base: string, proxied: boolean): SetMember[] {
  return containersOf(set, base).map((container): SetMember => {
    const service = set.services.find((s) => s.name === container.service)!;
    const takes = proxied && (service.traffic || service.name === APP_SERVICE);
    const route: Route = {
      backend: container.backend,
      server: container.server,
      ...(service.port !== undefined ? { port: service.port } : {}),
    };
    return { service, container, setName: base, ...(takes ? { route } : {}) };
  });
}
