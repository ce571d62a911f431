/** A failure to inject into matching requests; `route` is "METHOD /template" as in GitHub's docs. */
export interface FaultSpec {
  readonly route: string;
  /**
   * `stale`: a read answers as GitHub's lagging replicas do right after a write, with the
   * object as it was before it (a pull request read after its merge: open, not merged).
   * Only reads that have an older state to serve count; others pass untouched.
   */
  readonly kind: '5xx' | 'primary-rate-limit' | 'secondary-rate-limit' | 'hang' | 'stale';
  /** How many matching requests fail (default 1). */
  readonly times?: number;
  /** 5xx: the status (default 502); secondary-rate-limit: 403 (default) or 429. */
  readonly status?: number;
  /**
   * 5xx and hang: do the request first, then lose its answer, as GitHub sometimes creates
   * the deployment or merges the pull request and still answers 502, or never answers.
   */
  readonly performed?: boolean;
  /**
   * secondary-rate-limit: the `retry-after` seconds to send. Without it the answer is bare
   * (no retry-after, x-ratelimit-remaining not 0), as GitHub often sends it; its docs then
   * say to wait at least a minute.
   */
  readonly retryAfter?: number;
  /** Let this many matching requests through before the fault applies (default 0). */
  readonly after?: number;
}

interface ArmedFault {
  readonly spec: FaultSpec;
  remaining: number;
  passes: number;
}

function normalizeRoute(route: string): string {
  const [method = '', ...path] = route.trim().split(/\s+/);
  return `${method.toUpperCase()} ${path.join(' ')}`;
}

/** Injected faults, consumed in the order they were armed. */
export class FaultRegistry {
  private readonly faults: ArmedFault[] = [];

  constructor(
    private readonly knownRoutes: readonly string[],
    /** The routes that can answer an older state (a `stale` fault). */
    private readonly staleRoutes: readonly string[] = [],
  ) {}

  add(spec: FaultSpec): void {
    const route = normalizeRoute(spec.route);
    if (!this.knownRoutes.includes(route)) {
      throw new Error(`injectFault: the stand-in serves no route "${spec.route}"`);
    }
    if (spec.kind === 'stale' && !this.staleRoutes.includes(route)) {
      throw new Error(`injectFault: the stand-in serves no stale reads on "${spec.route}"`);
    }
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error('injectFault: times must be a positive integer');
    if (spec.kind === '5xx' && spec.status !== undefined && (spec.status < 500 || spec.status > 599)) {
      throw new Error(`injectFault: ${spec.status} is not a 5xx status`);
    }
    if (
      spec.kind === 'secondary-rate-limit' &&
      spec.status !== undefined &&
      ![403, 429].includes(spec.status)
    ) {
      throw new Error('injectFault: a secondary rate limit answers 403 or 429');
    }
    if (spec.retryAfter !== undefined && (spec.kind !== 'secondary-rate-limit' || !(spec.retryAfter > 0))) {
      throw new Error('injectFault: retryAfter is a positive number of seconds, for a secondary rate limit');
    }
    if (spec.performed && spec.kind !== '5xx' && spec.kind !== 'hang') {
      throw new Error('injectFault: only a 5xx or a hang can follow a performed request');
    }
    const after = spec.after ?? 0;
    if (!Number.isInteger(after) || after < 0)
      throw new Error('injectFault: after must be a non-negative integer');
    this.faults.push({ spec: { ...spec, route }, remaining: times, passes: after });
  }

  /**
   * The fault for this request's route, if one is armed and `applies` to this request (a
   * fault that does not apply is neither let through nor used up by it).
   */
  take(route: string, applies: (spec: FaultSpec) => boolean = () => true): FaultSpec | undefined {
    const index = this.faults.findIndex((fault) => fault.spec.route === route);
    const fault = this.faults[index];
    if (!fault || !applies(fault.spec)) return undefined;
    if (fault.passes > 0) {
      fault.passes -= 1;
      return undefined;
    }
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults.splice(index, 1);
    return fault.spec;
  }
}
