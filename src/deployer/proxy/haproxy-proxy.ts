// The reverse proxy in front of the app (DEPLOY_PROXY_ADMIN_URL): HAProxy, re-pointed
// through its runtime API (the `stats socket … level admin`), which changes a server's
// address in the running process: no reload, so no connection to a client or to the app is
// closed by the change (Caddy's admin API reloads the whole config on every change, and a
// client's keep-alive request racing that reload was dropped: 2 of 365 over 60 changes).
// HAProxy owns the public port; the operator's config has a backend named after the app
// container with one server `app` (see README), and lugh only ever sets that server's address.
import net from 'node:net';

/** Where the app's traffic goes; the switch moves it from container to container. */
export interface TrafficProxy {
  /** From now on, every new request to the app goes to `dial` (`ip:port`). */
  sendTo(containerName: string, dial: string): Promise<void>;
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

/** HAProxy's runtime API: `set server <container name>/app addr <ip> port <port>`, then `state ready`. */
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
    async sendTo(containerName, dial) {
      const at = dial.lastIndexOf(':');
      const [ip, port] = [dial.slice(0, at), dial.slice(at + 1)];
      const server = `${containerName}/${PROXY_SERVER}`;
      const changed = await ask(`set server ${server} addr ${ip} port ${port}`);
      // "IP changed from …", "no need to change the addr[, port changed …]"; else a refusal.
      if (!/^(IP changed|no need to change the addr)/.test(changed)) {
        throw new ProxyError(`the proxy at ${adminUrl} did not set ${server} to ${dial}: ${changed}`);
      }
      const ready = await ask(`set server ${server} state ready`);
      if (ready) throw new ProxyError(`the proxy at ${adminUrl} did not make ${server} ready: ${ready}`);
    },
  };
}
