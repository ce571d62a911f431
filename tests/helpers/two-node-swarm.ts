// A swarm of two nodes on this one machine, for the two-node test: two private engines
// (private-engine.ts: each dockerd in a network namespace of its own), joined by a veth
// pair of the test's own between their namespaces (the shared engine's swarm advertises
// 127.0.0.1, which no other namespace reaches, so it cannot take a second node). The first
// engine inits a swarm on its end of that link, with a short dispatcher heartbeat so a
// node that goes away is seen down within seconds; the second joins it as a worker. A
// registry on the host's end of the first engine's link (10.x.0.1, reached by both
// namespaces through their default route to the host) serves both; each engine trusts it
// without TLS (`insecure-registries`). Nothing but loopback and these namespaces is addressed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { freePort } from '../../src/sandbox/free-port.js';
import { type PrivateEngine, startPrivateEngine } from './private-engine.js';
import { type RunningRegistry, startRegistry } from './registry.js';

export interface TwoNodeSwarm {
  readonly manager: PrivateEngine;
  readonly worker: PrivateEngine;
  /** The swarm node ids. */
  readonly managerNode: string;
  readonly workerNode: string;
  /** Reachable from both engines: `<host end of the manager's link>:<port>`. */
  readonly registry: RunningRegistry;
  close(): Promise<void>;
}

/** The dispatcher heartbeat the swarm is made with: a node silent for a few of these is down. */
export const HEARTBEAT_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pieces made so far, undone in reverse order by close (also when making fails half-way). */
type Undo = () => Promise<void> | void;

export async function startTwoNodeSwarm(): Promise<TwoNodeSwarm> {
  const undo: Undo[] = [];
  const close = async () => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
  };
  try {
    const port = await freePort();
    let registryHost = '';
    const trust = () => ({ 'insecure-registries': [`${registryHost}:${port}`] });
    const manager = await startPrivateEngine({
      daemonConfig: ({ address }) => {
        registryHost = address;
        return trust();
      },
    });
    undo.push(() => manager.close());
    const worker = await startPrivateEngine({ daemonConfig: trust });
    undo.push(() => worker.close());
    const registry = await startRegistry({ host: registryHost, port });
    undo.push(() => registry.close());

    // The link between the two namespaces: 192.168.<n>.1 (manager) and .2 (worker).
    const id = randomBytes(3).toString('hex');
    const n = 100 + Math.floor(Math.random() * 150);
    const [managerEnd, workerEnd] = [`sw${id}m`, `sw${id}w`];
    const [managerIp, workerIp] = [`192.168.${n}.1`, `192.168.${n}.2`];
    execFileSync('ip', ['link', 'add', managerEnd, 'type', 'veth', 'peer', 'name', workerEnd]);
    undo.push(() => {
      // Gone with its namespace already, usually.
      try {
        execFileSync('ip', ['link', 'del', managerEnd], { stdio: 'ignore' });
      } catch {}
    });
    execFileSync('ip', ['link', 'set', managerEnd, 'netns', manager.netns]);
    execFileSync('ip', ['link', 'set', workerEnd, 'netns', worker.netns]);
    const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args]);
    inNs(manager.netns, 'addr', 'add', `${managerIp}/30`, 'dev', managerEnd);
    inNs(manager.netns, 'link', 'set', managerEnd, 'up');
    inNs(worker.netns, 'addr', 'add', `${workerIp}/30`, 'dev', workerEnd);
    inNs(worker.netns, 'link', 'set', workerEnd, 'up');

    await manager.docker.swarmInit({
      ListenAddr: `${managerIp}:2377`,
      AdvertiseAddr: managerIp,
      // Overlay subnets away from the links' 10.x addresses.
      DefaultAddrPool: [`172.${28 + (n % 3)}.0.0/16`],
      SubnetSize: 24,
      Spec: { Dispatcher: { HeartbeatPeriod: HEARTBEAT_MS * 1_000_000 } },
    });
    const swarm = (await manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
    await worker.docker.swarmJoin({
      ListenAddr: `${workerIp}:2377`,
      AdvertiseAddr: workerIp,
      RemoteAddrs: [`${managerIp}:2377`],
      JoinToken: swarm.JoinTokens.Worker,
    });
    const nodeId = async (docker: Docker) => (await docker.info()).Swarm.NodeID as string;
    const [managerNode, workerNode] = [await nodeId(manager.docker), await nodeId(worker.docker)];
    // Both ready, as the manager sees them.
    const until = Date.now() + 60_000;
    for (;;) {
      const nodes = await manager.docker.listNodes();
      if (nodes.length === 2 && nodes.every((node) => node.Status?.State === 'ready')) break;
      if (Date.now() > until)
        throw new Error(`the worker did not join: ${JSON.stringify(nodes.map((x) => x.Status))}`);
      await sleep(500);
    }
    return { manager, worker, managerNode, workerNode, registry, close };
  } catch (error) {
    await close();
    throw error;
  }
}
