import type { Route } from './route-types.js';

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  /** Literal characters in the template: the most specific match wins. */
  readonly specificity: number;
}

// Git ref names may contain slashes (heads/feature/x, main...release/1.2), and Octokit may send them raw;
// so may a file's path (x-multi-segment in GitHub's description).
const MULTI_SEGMENT = new Set(['ref', 'branch', 'basehead', 'path']);

/** "METHOD /template", the name a route goes by in faults, the request log and the docs. */
export function routeKey(route: Pick<Route, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** Matches request paths against GitHub's OpenAPI path templates. */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(readonly routes: readonly Route[]) {
    const keys = routes.map(routeKey);
    const duplicate = keys.find((key, i) => keys.indexOf(key) !== i);
    if (duplicate) throw new Error(`route declared twice: ${duplicate}`);
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const param = /^\{([^}]+)\}$/.exec(part);
          if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1]!);
          return MULTI_SEGMENT.has(param[1]!) ? '(.+?)' : '([^/]+)';
        })
        .join('');
      return {
        route,
        pattern: new RegExp(`^${source}$`),
        names,
        specificity: route.path.replace(/\{[^}]+\}/g, '').length,
      };
    });
  }

  /** Every route as "METHOD /template". */
  keys(): string[] {
    return this.routes.map(routeKey);
  }

  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    let best: { route: Route; params: Record<string, string>; specificity: number } | undefined;
    for (const candidate of this.compiled) {
      if (candidate.route.method !== method) continue;
      const found = candidate.pattern.exec(pathname);
      if (!found || (best && best.specificity >= candidate.specificity)) continue;
      const params: Record<string, string> = {};
      try {
        candidate.names.forEach((name, i) => {
          params[name] = decodeURIComponent(found[i + 1]!);
        });
      } catch {
        continue;
      }
      best = { route: candidate.route, params, specificity: candidate.specificity };
    }
    return best && { route: best.route, params: best.params };
  }
}
