// A client of a Swarm service that follows Swarm's service discovery, for the Swarm bench
// (bench/swarm.ts, bench/swarm-app.ts): a container on the service's overlay network asks
// the /healthz of a task Swarm's DNS names for the service every 50 ms.
import type Docker from 'dockerode';
import { logTail } from '../src/deployer/docker-helpers.js';
import { ensureBaseImage } from '../tests/helpers/docker.js';
import { TEST_LABEL } from '../tests/helpers/swarm.js';

const HEALTH_POLL_MS = 50;

/**
 * A container on a service's network asking its /healthz every 50 ms, one line per answer:
 * each time of a task Swarm's DNS names for the service (`tasks.<service>`).
 */
export async function startHealthPoller(
  docker: Docker,
  target: { readonly name: string; readonly network: string; readonly run: string; readonly port: number },
) {
  const script = `
    const dns = require('node:dns').promises;
    const ask = async () => {
      const at = Date.now();
      const ok = await dns
        .lookup('tasks.${target.name}', { all: true })
        .then((all) => all[Math.floor(Math.random() * all.length)].address)
        .then((ip) => fetch('http://' + ip + ':${target.port}/healthz', { signal: AbortSignal.timeout(2000) }))
        .then((r) => r.status === 200, () => false);
      console.log((ok ? 'ok ' : 'fail ') + at);
    };
    setInterval(ask, ${HEALTH_POLL_MS});
    process.on('SIGTERM', () => process.exit(0));`;
  const container = await docker.createContainer({
    name: `${target.run}-healthz`,
    Image: await ensureBaseImage(docker),
    Cmd: ['node', '-e', script],
    Labels: { [TEST_LABEL]: target.run },
    HostConfig: { NetworkMode: target.network },
  });
  await container.start();
  return {
    /** Failed and all answers between `from` and `to` (this host's clock; the engine's is the same). */
    async count(from: number, to: number) {
      const lines = await logTail(container, 1_000_000);
      let failed = 0;
      let all = 0;
      for (const line of lines) {
        const [what, at] = line.trim().split(' ');
        const t = Number(at);
        if (!(t >= from && t <= to)) continue;
        all++;
        if (what === 'fail') failed++;
      }
      return { failed, all };
    },
    /** Stops and removes the poller. */
    async remove() {
      await container.remove({ force: true }).catch(() => {});
    },
  };
}
