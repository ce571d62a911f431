// The reverse proxy in front of the app (DEPLOY_PROXY_ADMIN_URL): Caddy, configured at run
// time through its admin API, so a switch moves the app's traffic without restarting it.
// Caddy owns the public port; the operator's config holds a `reverse_proxy` handler whose
// `@id` is the app container's name, and lugh only ever replaces that handler's upstreams.

/** Where the app's traffic goes; the switch moves it from container to container. */
export interface TrafficProxy {
  /** From now on, every request to the app goes to `dial` (`host:port`). */
  sendTo(containerName: string, dial: string): Promise<void>;
}

/** The proxy refused the change or could not be reached; the message says which. */
export class ProxyError extends Error {
  override name = 'ProxyError';
}

/**
 * Caddy 2's admin API: `PATCH /id/<container name>/upstreams` replaces the handler's
 * upstreams, and Caddy answers once the new config serves (in-flight requests finish on
 * the old one; its listeners are kept, so no connection is refused meanwhile).
 */
export function createCaddyProxy(options: {
  readonly adminUrl: string;
  readonly timeoutMs?: number;
}): TrafficProxy {
  const { adminUrl } = options;
  return {
    async sendTo(containerName, dial) {
      const url = `${adminUrl}/id/${encodeURIComponent(containerName)}/upstreams`;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([{ dial }]),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        throw new ProxyError(`the proxy's admin API at ${adminUrl} did not answer (${String(error)})`);
      }
      if (!response.ok) {
        const body = (await response.text().catch(() => '')).slice(0, 300);
        throw new ProxyError(
          response.status === 404
            ? `the proxy at ${adminUrl} has no reverse_proxy with "@id": "${containerName}" (${body.trim()})`
            : `the proxy at ${adminUrl} refused the upstream ${dial}: ${response.status} ${body.trim()}`,
        );
      }
    },
  };
}
