// TCP relays from a Docker network's gateway address to services on the host's loopback:
// containers on a bridge network reach the test's Postgres, Redis and stand-ins this way.
import { createConnection, createServer, type Server } from 'node:net';

export interface Relay {
  /** `host:port` as a container on the network reaches it. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startRelay(
  listenHost: string,
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<Relay> {
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: targetHost, port: targetPort });
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end);
    outbound.on('error', end);
    inbound.on('close', end);
    outbound.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    address: `${listenHost}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Long-lived connections (a Postgres pool, a long poll) must not hold the close.
        server.unref();
        setTimeout(resolve, 500).unref();
      }),
  };
}

/** The same URL, with its host and port replaced by a relay's. */
export function throughRelay(url: string, relay: Relay): string {
  const u = new URL(url);
  const [host, port] = relay.address.split(':');
  u.hostname = host!;
  u.port = port!;
  return u.toString().replace(/\/$/, '');
}
