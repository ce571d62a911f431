import type { RateLimiter } from '../rate-limit.js';
import type { Route } from '../route-types.js';

/** GET /rate_limit: the token's core budget; GitHub does not charge for asking. */
export function rateLimitRoute(limiter: RateLimiter): Route {
  return {
    method: 'GET',
    path: '/rate_limit',
    operationId: 'rate-limit/get',
    handle: async () => {
      const core = limiter.state();
      const fresh = (limit: number) => ({ limit, remaining: limit, reset: core.reset, used: 0 });
      const rate = {
        limit: core.limit,
        remaining: core.remaining,
        reset: core.reset,
        used: core.used,
        resource: 'core',
      };
      return {
        status: 200,
        body: {
          resources: {
            core: rate,
            search: { ...fresh(30), resource: 'search' },
            graphql: { ...fresh(5000), resource: 'graphql' },
            integration_manifest: { ...fresh(5000), resource: 'integration_manifest' },
            code_search: { ...fresh(10), resource: 'code_search' },
          },
          rate,
        },
      };
    },
  };
}
