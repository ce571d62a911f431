// lugh's HAProxy client against a real HAProxy: it moves the server, and says so when the
// proxy has no such backend or does not answer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHaproxyProxy, ProxyError } from '../../../src/deployer/proxy/haproxy-proxy.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import { haproxyInstalled, type RunningHaproxy, startHaproxy } from '../../helpers/haproxy.js';

describe.skipIf(!haproxyInstalled())('the HAProxy runtime API client (needs haproxy)', () => {
  let haproxy: RunningHaproxy;
  beforeAll(async () => {
    haproxy = await startHaproxy('lugh-proxy-test-app', '127.0.0.1:4001');
  });
  afterAll(async () => {
    await haproxy?.close();
  });

  it('moves the app server to another address, and again', async () => {
    const proxy = createHaproxyProxy({ adminUrl: haproxy.adminUrl });
    await proxy.sendTo('lugh-proxy-test-app', '127.0.0.2:4002');
    expect(await haproxy.upstream()).toBe('127.0.0.2:4002');
    await proxy.sendTo('lugh-proxy-test-app', '127.0.0.2:4003');
    expect(await haproxy.upstream()).toBe('127.0.0.2:4003');
  });

  it('a backend the config lacks is an error naming it', async () => {
    const proxy = createHaproxyProxy({ adminUrl: haproxy.adminUrl });
    const refused = proxy.sendTo('lugh-no-such-app', '127.0.0.2:4002');
    await expect(refused).rejects.toBeInstanceOf(ProxyError);
    await expect(refused).rejects.toThrow(/lugh-no-such-app\/app.*No such backend/);
  });

  it('a runtime API that does not answer is an error naming it', async () => {
    const adminUrl = `tcp://127.0.0.1:${await freePort()}`;
    const refused = createHaproxyProxy({ adminUrl }).sendTo('lugh-proxy-test-app', '127.0.0.2:4002');
    await expect(refused).rejects.toThrow(`the proxy's runtime API at ${adminUrl} did not answer`);
  });

  it('drained: not while a request HAProxy sent before the move is unanswered at the old address; once it is answered', async () => {
    let held: http.ServerResponse | undefined;
    let reached!: () => void;
    const arrived = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const app = http.createServer((_req, res) => {
      held = res;
      reached();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const dial = `127.0.0.1:${(app.address() as AddressInfo).port}`;
    const backend = 'lugh-proxy-drain-app';
    const haproxyOfApp = await startHaproxy(backend, dial);
    try {
      const proxy = createHaproxyProxy({ adminUrl: haproxyOfApp.adminUrl });
      const answered = fetch(haproxyOfApp.url).then((r) => r.status);
      await arrived;
      await proxy.sendTo(backend, '127.0.0.2:4009');
      expect(await proxy.drained?.(backend, dial, 300)).toBe(false);
      expect(await proxy.drained?.(backend, '127.0.0.2:4009', 300)).toBe(true);
      held?.end('ok');
      expect(await answered).toBe(200);
      expect(await proxy.drained?.(backend, dial, 10_000)).toBe(true);
    } finally {
      await haproxyOfApp.close();
      app.close();
    }
  });
});
