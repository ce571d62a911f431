// The reverse proxy in front of previews: Caddy, configured at run time through its admin
// API (PREVIEW_PROXY_ADMIN_URL), one route per preview whose `@id` is the preview's
// routeId. Caddy applies each change without a restart (the new config starts on the same
// listener before the old one stops), but Caddy 2.6 still resets a fresh connection now and
// then across a change (about 2 in 1000, measured in caddy-proxy.test.ts): the admin calls
// are retried, and a browser resends such a request on its own. A route matches
// the preview's host when PREVIEW_URL_TEMPLATE's host carries `{n}`
// (`http://pr-{n}.preview.example.com`), else its host and path, whose prefix it strips
// before proxying (`https://preview.example.com/pr-{n}/`: the app sees `/`).
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../logger.js';
import { type PreviewNames, type PreviewProxy, previewDashPrefix, previewUrl } from './preview.js';

/** Caddy could not be asked, or refused a change; the message says what to check. */
export class PreviewProxyError extends Error {
  override name = 'PreviewProxyError';
}

/** How often an admin request is tried while Caddy's admin endpoint restarts (it does at every change). */
const ADMIN_ATTEMPTS = 5;

/** The server lugh makes when Caddy has none listening on the URL's port. */
export const PREVIEW_SERVER = 'lugh-previews';

export interface CaddyProxyOptions {
  /** PREVIEW_PROXY_ADMIN_URL, e.g. http://127.0.0.1:2019. */
  readonly adminUrl: string;
  /** PREVIEW_URL_TEMPLATE. */
  readonly urlTemplate: string;
  readonly namespace?: string;
  readonly logger?: Logger;
  readonly timeoutMs?: number;
}

interface CaddyRoute {
  readonly '@id': string;
  readonly match: readonly Record<string, unknown>[];
  readonly handle: readonly Record<string, unknown>[];
  readonly terminal: true;
}

interface CaddyServer {
  readonly listen?: readonly string[];
  readonly routes?: readonly { readonly '@id'?: string }[];
}

/**
 * One request on a connection of its own: Caddy's admin API closes its connections when a
 * change reloads the config, and a kept-alive one reused after that fails.
 */
function request(url: string, method: string, body: string | undefined, timeoutMs: number) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.request(
      url,
      {
        method,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error('no answer in time'), { code: 'timeout' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

const defaultPort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/** The route that sends preview `names.pr`'s URL to `upstream` (`host:port`): data, tested by equality. */
export function caddyRoute(urlTemplate: string, names: PreviewNames, upstream: string): CaddyRoute {
  const url = new URL(previewUrl(urlTemplate, names.pr));
  const pathBased =
    new URL(urlTemplate.replaceAll('{n}', '1')).pathname !==
    new URL(urlTemplate.replaceAll('{n}', '2')).pathname;
  const proxy = { handler: 'reverse_proxy', upstreams: [{ dial: upstream }] };
  if (!pathBased)
    return { '@id': names.routeId, match: [{ host: [url.hostname] }], handle: [proxy], terminal: true };
  const prefix = url.pathname.replace(/\/+$/, '');
  return {
    '@id': names.routeId,
    match: [{ host: [url.hostname], path: [prefix, `${prefix}/*`] }],
    handle: [{ handler: 'rewrite', strip_path_prefix: prefix }, proxy],
    terminal: true,
  };
}

/** Whether one of Caddy's `listen` addresses (`:80`, `0.0.0.0:8080`, `tcp/[::]:443`, `:8000-8010`) takes `port`. */
export function listensOn(listen: readonly string[] | undefined, port: string): boolean {
  return (listen ?? []).some((address) => {
    const range = address.slice(address.lastIndexOf(':') + 1);
    const [low, high = low] = range.split('-').map(Number);
    return Number(port) >= (low ?? NaN) && Number(port) <= (high ?? NaN);
  });
}

export function createCaddyProxy(options: CaddyProxyOptions): PreviewProxy {
  const admin = options.adminUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const idPrefix = previewDashPrefix(options.namespace ?? '');
  const template = new URL(options.urlTemplate.replaceAll('{n}', '1'));

  /** One admin API call; its JSON answer (null for an empty one), or undefined on 404. */
  async function ask(method: string, path: string, body?: unknown): Promise<unknown> {
    // Caddy restarts its admin endpoint with every config change: a request right after one
    // may find it closed (refused) or closing (reset). A read, PATCH or DELETE is asked again;
    // a PUT or POST only when it never got there (refused): the caller looks before it does more.
    const idempotent = method === 'GET' || method === 'PATCH' || method === 'DELETE';
    let answer: { status: number; text: string } | undefined;
    for (let attempt = 1; !answer; attempt++) {
      try {
        answer = await request(
          `${admin}${path}`,
          method,
          body === undefined ? undefined : JSON.stringify(body),
          timeoutMs,
        );
      } catch (error) {
        const cause = (error as { code?: string }).code ?? (error as Error).message;
        const again = cause === 'ECONNREFUSED' || (idempotent && ['ECONNRESET', 'EPIPE'].includes(cause));
        if (!again || attempt >= ADMIN_ATTEMPTS) {
          throw new PreviewProxyError(
            `Caddy's admin API at ${admin} did not answer ${method} ${path} (${cause}): check PREVIEW_PROXY_ADMIN_URL and that Caddy runs`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    const { status, text } = answer;
    if (status === 404) return undefined;
    if (status < 200 || status > 299) {
      const said = (() => {
        try {
          return (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {
          return text;
        }
      })();
      throw new PreviewProxyError(`Caddy refused ${method} ${path} (HTTP ${status}): ${said.slice(0, 300)}`);
    }
    return text ? JSON.parse(text) : null;
  }

  /** A change that may have been made though its answer was lost: done if `made()` says so after all. */
  async function change(work: () => Promise<unknown>, made: () => Promise<boolean>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof PreviewProxyError) || !(await made().catch(() => false))) throw error;
    }
  }

  // Caddy answers 400 for a path under a key it lacks: the whole config is read and walked here.
  const wholeConfig = async () =>
    (await ask('GET', '/config/')) as { apps?: { http?: { servers?: Record<string, CaddyServer> } } } | null;
  const servers = async () => (await wholeConfig())?.apps?.http?.servers ?? {};
  const serverOn = async (port: string) =>
    Object.entries(await servers()).find(([, s]) => listensOn(s.listen, port))?.[0];

  /** The server that takes the previews' port, made (with the config levels above it) when there is none. */
  async function serverFor(): Promise<string> {
    const port = defaultPort(template);
    const config = await wholeConfig();
    const found = Object.entries(config?.apps?.http?.servers ?? {}).find(([, s]) =>
      listensOn(s.listen, port),
    );
    if (found) return found[0];
    const server = {
      listen: [`:${port}`],
      routes: [],
      // Plain http previews: no certificates, no redirect to https.
      ...(template.protocol === 'http:' ? { automatic_https: { disable: true } } : {}),
    };
    // PUT makes a key that is not there, at the deepest level of the config that exists;
    // nothing configured at all: Caddy's default admin takes the apps whole.
    const servers = { [PREVIEW_SERVER]: server };
    const make = () =>
      config?.apps?.http?.servers
        ? ask('PUT', `/config/apps/http/servers/${PREVIEW_SERVER}`, server)
        : config?.apps?.http
          ? ask('PUT', '/config/apps/http/servers', servers)
          : config?.apps
            ? ask('PUT', '/config/apps/http', { servers })
            : config
              ? ask('PUT', '/config/apps', { http: { servers } })
              : ask('POST', '/load', { apps: { http: { servers } } });
    await change(make, async () => (await serverOn(port)) !== undefined);
    options.logger?.info({ server: PREVIEW_SERVER, port }, 'preview proxy: made Caddy’s server for previews');
    return PREVIEW_SERVER;
  }

  return {
    async route(names, upstream) {
      const route = caddyRoute(options.urlTemplate, names, upstream);
      const id = `/id/${encodeURIComponent(names.routeId)}`;
      // One change either way: Caddy swaps the whole config at once, so requests see the old route or the new.
      // The same route again (a reconcile, a retried job) makes no reload: Caddy skips a config equal to its own.
      if ((await ask('GET', id)) !== undefined) {
        await ask('PATCH', id, route);
      } else {
        const server = await serverFor();
        const routes = (await ask('GET', `/config/apps/http/servers/${server}/routes`)) as unknown[] | null;
        // First in the list: an operator's catch-all route after it still gets the rest.
        const insert = () =>
          routes?.length
            ? ask('PUT', `/config/apps/http/servers/${server}/routes/0`, route)
            : ask('POST', `/config/apps/http/servers/${server}/routes`, route);
        await change(insert, async () => (await ask('GET', id)) !== undefined);
      }
      options.logger?.info({ pr: names.pr, upstream }, 'preview routed');
    },

    async unroute(names) {
      // 404: already gone.
      await ask('DELETE', `/id/${encodeURIComponent(names.routeId)}`);
    },

    async routed() {
      const prs = new Set<number>();
      for (const server of Object.values(await servers())) {
        for (const route of server.routes ?? []) {
          const id = route['@id'];
          if (!id?.startsWith(idPrefix)) continue;
          const n = id.slice(idPrefix.length);
          if (/^[1-9]\d*$/.test(n)) prs.add(Number(n));
        }
      }
      return [...prs].sort((a, b) => a - b);
    },
  };
}
