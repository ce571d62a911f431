// The reverse proxy in front of the app (DEPLOY_PROXY_ADMIN_URL): HAProxy, re-pointed
// through its runtime API (the `stats socket … level admin`), which changes a server's
// address in the running process: no reload, so no connection to a client or to the app is
// closed by the change (Caddy's admin API reloads the whole config on every change, and a
// client's keep-alive request racing that reload was dropped: 2 of 365 over 60 changes).
// HAProxy owns the public port; the operator's config has a backend named after the app
// container with one server `app` (see README), and lugh only ever sets that server's address
// (and reads `show sess all`, to let a container go only once no request is bound to it).
// A service set (lugh.yml) adds a backend per service that takes traffic (`containersOf`:
// `<app>` / `<app>-<service>`) with a server per replica (`app`, `app2`, …): each replica's
// switch re-points only its own server, so HAProxy balances over the others meanwhile.
import net from 'node:net';

/** Where the app's traffic goes; the switch moves it from container to container. */
export interface TrafficProxy {
  /**
   * From now on, every new request `backend`'s `server` gets goes to `dial` (`ip:port`).
   * The backend is named after the app container; the server is `app` (PROXY_SERVER)
   * unless a service's replica says otherwise (`containersOf`).
   */
  sendTo(backend: string, dial: string, server?: string): Promise<void>;
  /** No more requests to `backend`'s `server` (a set's replica removed): it is put in maintenance. */
  park?(backend: string, server: string): Promise<void>;
  /**
   * True once no request of `backend`'s `server` is bound to `dial` any more (waiting for its
   * answer there, connecting there, or waiting to retry there), false if some still are after
   * `withinMs`. `sendTo` moves only the requests that start after it: one already bound keeps
   * its address, and HAProxy retries a failed one at that same address.
   */
  drained?(backend: string, dial: string, withinMs: number, server?: string): Promise<boolean>;
}

/** The proxy refused the change or could not be reached; the message says which. */
export class ProxyError extends Error {
  override name = 'ProxyError';
}

/** The server of the app's backend that lugh re-points: `backend <container name>` / `server app …`. */
export const PROXY_SERVER = 'app';

/** `tcp://host:port` or `unix:///path/to/socket`, as net.connect takes it. */
export function runtimeApiAddress(adminUrl: string): net.NetConnectOpts {
  const url = new URL(adminUrl);
  if (url.protocol === 'unix:') return { path: decodeURIComponent(url.pathname) };
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

/** One command on HAProxy's runtime API (a connection per command); its answer. */
function command(adminUrl: string, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect(runtimeApiAddress(adminUrl), () => socket.end(`${line}\n`));
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)),
    );
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer.trim()));
    socket.on('error', reject);
  });
}

/**
 * How many requests in HAProxy's `show sess all` dump are bound to `backend`/`server` at
 * `dial`: their connection goes there, or they wait to retry a connection (no address shown,
 * `conn_retries` above 0), whose address HAProxy keeps and cannot show. Pure.
 */
export function requestsBoundTo(dump: string, backend: string, server: string, dial: string): number {
  const streams = dump.split(/\n(?=0x[0-9a-f]+: \[)/);
  return streams.filter((stream) => {
    if (!stream.includes(`\n  backend=${backend} (id=`)) return false;
    const at = /\n {2}server=(\S+) \(id=\d+\)(?: addr=(\S+))?\n/.exec(stream);
    if (at?.[1] !== server) return false;
    if (at[2] !== undefined) return at[2] === dial;
    return Number(/conn_retries=(\d+)/.exec(stream)?.[1] ?? 0) > 0;
  }).length;
}

/** How often `drained` asks HAProxy. */
const DRAIN_POLL_MS = 100;

/** HAProxy's runtime API: `set server <backend>/<server> addr <ip> port <port>`, then `state ready`. */
export function createHaproxyProxy(options: {
  readonly adminUrl: string;
  readonly timeoutMs?: number;
}): TrafficProxy {
  const { adminUrl } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ask = async (line: string) => {
    try {
      return await command(adminUrl, line, timeoutMs);
    } catch (error) {
      throw new ProxyError(`the proxy's runtime API at ${adminUrl} did not answer (${String(error)})`);
    }
  };
  return {
    async sendTo(backend, dial, serverName = PROXY_SERVER) {
      const at = dial.lastIndexOf(':');
      const [ip, port] = [dial.slice(0, at), dial.slice(at + 1)];
      const server = `${backend}/${serverName}`;
      const changed = await ask(`set server ${server} addr ${ip} port ${port}`);
      // "IP changed from …", "no need to change the addr[, port changed …]"; else a refusal.
      if (!/^(IP changed|no need to change the addr)/.test(changed)) {
        throw new ProxyError(`the proxy at ${adminUrl} did not set ${server} to ${dial}: ${changed}`);
      }
      const ready = await ask(`set server ${server} state ready`);
      if (ready) throw new ProxyError(`the proxy at ${adminUrl} did not make ${server} ready: ${ready}`);
    },
    async park(backend, serverName) {
      const server = `${backend}/${serverName}`;
      const maint = await ask(`set server ${server} state maint`);
      if (maint)
        throw new ProxyError(`the proxy at ${adminUrl} did not put ${server} in maintenance: ${maint}`);
    },
    async drained(backend, dial, withinMs, serverName = PROXY_SERVER) {
      const until = Date.now() + withinMs;
      for (;;) {
        const dump = await ask('show sess all');
        if (dump && !/^0x[0-9a-f]+: /.test(dump)) {
          throw new ProxyError(`the proxy at ${adminUrl} did not list its requests: ${dump.slice(0, 200)}`);
        }
        if (requestsBoundTo(dump, backend, serverName, dial) === 0) return true;
        if (Date.now() >= until) return false;
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    },
  };
}
