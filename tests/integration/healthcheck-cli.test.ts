// `lugh healthcheck`, as Docker runs it in lugh's image: exit 0 only when this instance's
// /healthz answers 200 at PORT (or the environment's default port), 1 otherwise, within its
// 3 s; and a configuration lugh could not start with does not make it crash.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runLugh } from '../helpers/lugh-process.js';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

/** A server on a free port: /healthz answers `status`, or never when `status` is 'hang'. */
async function healthz(status: number | 'hang'): Promise<number> {
  const server = createServer((req, res) => {
    if (status === 'hang') return;
    res.writeHead(req.url === '/healthz' ? status : 404);
    res.end(req.url === '/healthz' ? `{"status":"${status === 200 ? 'ok' : 'sick'}"}` : 'no');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('lugh healthcheck', () => {
  it('exits 0 when /healthz answers 200, printing the answer', async () => {
    const port = await healthz(200);
    const run = await runLugh(['healthcheck'], { PORT: String(port) });
    expect({ code: run.code, out: run.stdout }).toEqual({ code: 0, out: '200 {"status":"ok"}\n' });
  });

  it('exits 1 on any other answer, on a refused connection, and on no answer within 3 s', async () => {
    const sick = await runLugh(['healthcheck'], { PORT: String(await healthz(503)) });
    expect({ code: sick.code, out: sick.stdout }).toEqual({ code: 1, out: '503 {"status":"sick"}\n' });

    const closed = await healthz(200);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const refused = await runLugh(['healthcheck'], { PORT: String(closed) });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^unhealthy: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);

    const hanging = await runLugh(['healthcheck'], { PORT: String(await healthz('hang')) });
    expect({ code: hanging.code, out: hanging.stdout }).toEqual({
      code: 1,
      out: 'unhealthy: no answer within 3 s\n',
    });
  }, 30_000);

  it('checks whatever the configuration says: settings lugh could not start with are no crash', async () => {
    const port = await healthz(200);
    const run = await runLugh(['healthcheck'], {
      PORT: String(port),
      APP_ENV: 'production',
      TELEGRAM_BOT_TOKEN: 'not a token',
      DATABASE_URL: 'nonsense',
    });
    expect({ code: run.code, out: run.stdout, err: run.stderr }).toEqual({
      code: 0,
      out: '200 {"status":"ok"}\n',
      err: '',
    });
  });

  it('calls a PORT that is no port number unhealthy, saying so, without a stack', async () => {
    const run = await runLugh(['healthcheck'], { PORT: 'abc' });
    expect({ code: run.code, out: run.stdout, err: run.stderr }).toEqual({
      code: 1,
      out: 'unhealthy: PORT must be a port number (1-65535), got "abc"\n',
      err: '',
    });
  });
});
