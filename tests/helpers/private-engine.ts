// A second Docker engine for one test file: its own dockerd and containerd, data root,
// exec root, socket, cgroup parent and network namespace, so a test may use the install's
// fixed names (lugh-postgres, lugh-staging-app, networks lugh-staging-data …), kill the
// engine or simulate a host reboot without touching the engine other tests share.
//
// Networking: dockerd runs in a network namespace of its own (`ip netns`), joined to the
// host by one veth pair. Everything it does to networking (its docker0, its bridges, its
// iptables rules, its containers' NAT) happens inside that namespace. Run in the host's
// namespace instead (even with --iptables=false and a bridge of its own), a second dockerd
// deleted the host's docker0 when it was started again on the same data root, taking the
// shared engine's default bridge away. Containers reach the host at `address` (the host's
// end of the pair; the private dockerd masquerades them as they leave its namespace): the
// stand-ins listen there. Ports the private engine publishes are bound on
// `publishAddress` (the namespace's end), which the host reaches. Nothing reaches past the
// host, and nothing here needs to: images are built on the shared engine and loaded
// (`loadImage`).
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PrivateEngine {
  /** `unix://<root>/docker.sock`, for DOCKER_HOST. */
  readonly host: string;
  readonly socket: string;
  /** The host's address towards the engine's namespace: containers reach the host there. */
  readonly address: string;
  /** The namespace's own address: bind published ports there (HTTP_BIND_ADDRESS). */
  readonly publishAddress: string;
  /** Its network namespace (`ip netns`), e.g. for a link of a test's own to another engine's. */
  readonly netns: string;
  /** The engine's own daemon.json (`--config-file`), `{}` at first: bootstrap writes it. */
  readonly daemonJson: string;
  /** Where dockerd writes its pid (`--pidfile`). */
  readonly pidfile: string;
  readonly docker: Docker;
  /** process.env with DOCKER_HOST pointing here (for docker, docker-compose, scripts). */
  readonly env: NodeJS.ProcessEnv;
  /** Starts dockerd again after `killDaemon` or `crash`. */
  start(): Promise<void>;
  /** SIGKILL to dockerd only: containerd, the shims and the containers live on. */
  killDaemon(): Promise<void>;
  /**
   * A host crash: SIGKILL to dockerd, its containerd, every shim and every container
   * process, then what a reboot clears (the mounts and the exec root, /run's part).
   */
  crash(): Promise<void>;
  /** `docker save <ref>` from `from`, `docker load` here. */
  loadImage(ref: string, from?: NodeJS.ProcessEnv): Promise<void>;
  /** Stops everything and removes the directories, the namespace and the cgroups. */
  close(): Promise<void>;
}

/** Can this host run a private engine (root, dockerd, ip)? */
export function privateEngineSupported(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('dockerd', ['--version'], { stdio: 'ignore' });
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Used by some route on this host: a candidate subnet must not overlap it. */
function usedPrefixes(): string[] {
  const out = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((p) => /^\d+\.\d+\./.test(p));
}

function pickSecondOctets(): [number, number] {
  const used = usedPrefixes().map((p) => p.split('.').slice(0, 2).join('.'));
  const free = (n: number) => !used.includes(`10.${n}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = 150 + Math.floor(Math.random() * 100);
    if (free(a) && free(a + 1)) return [a, a + 1];
  }
  throw new Error('no free 10.x.0.0/16 pair for a private engine');
}

function processes(): { pid: number; ppid: number; cmd: string }[] {
  const out: { pid: number; ppid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(entry), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function kill(pid: number, signal: NodeJS.Signals = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pids.some(alive)) return true;
    await sleep(100);
  }
  return !pids.some(alive);
}

export interface PrivateEngineOptions {
  /**
   * The daemon.json it starts with (`{}` by default), from the addresses of its link: e.g.
   * `insecure-registries` naming a registry a test runs on the host's end.
   */
  readonly daemonConfig?: (link: { address: string; publishAddress: string }) => Record<string, unknown>;
}

export async function startPrivateEngine(options: PrivateEngineOptions = {}): Promise<PrivateEngine> {
  const id = randomBytes(3).toString('hex');
  const root = `/tmp/lpe-${id}`;
  const dataRoot = path.join(root, 'data');
  const execRoot = path.join(root, 'exec');
  const socket = path.join(root, 'docker.sock');
  const daemonJson = path.join(root, 'daemon.json');
  const pidfile = path.join(root, 'docker.pid');
  const host = `unix://${socket}`;
  const netns = `lpe${id}`;
  const cgroupParent = `lugh-pe-${id}`;
  const [linkOctet, poolOctet] = pickSecondOctets();
  const address = `10.${linkOctet}.0.1`;
  const publishAddress = `10.${linkOctet}.0.2`;
  const pool = `10.${poolOctet}.0.0/16`;
  mkdirSync(dataRoot, { recursive: true });
  mkdirSync(execRoot, { recursive: true });
  writeFileSync(daemonJson, `${JSON.stringify(options.daemonConfig?.({ address, publishAddress }) ?? {})}\n`);

  const inNetns = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args]);
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['link', 'add', `${netns}h`, 'type', 'veth', 'peer', 'name', `${netns}n`]);
  execFileSync('ip', ['link', 'set', `${netns}n`, 'netns', netns]);
  execFileSync('ip', ['addr', 'add', `${address}/30`, 'dev', `${netns}h`]);
  execFileSync('ip', ['link', 'set', `${netns}h`, 'up']);
  inNetns('ip', 'addr', 'add', `${publishAddress}/30`, 'dev', `${netns}n`);
  inNetns('ip', 'link', 'set', `${netns}n`, 'up');
  inNetns('ip', 'link', 'set', 'lo', 'up');
  inNetns('ip', 'route', 'add', 'default', 'via', address);

  const docker = new Docker({ socketPath: socket });
  const env = { ...process.env, DOCKER_HOST: host };
  let daemon: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(path.join(root, 'dockerd.log'), 'a');
    daemon = spawn(
      // nsenter, not `ip netns exec`: that one also remounts /sys for the namespace,
      // which hides the cgroup mounts dockerd needs.
      'nsenter',
      [
        `--net=/run/netns/${netns}`,
        'dockerd',
        `--data-root=${dataRoot}`,
        `--exec-root=${execRoot}`,
        `--pidfile=${pidfile}`,
        `--config-file=${daemonJson}`,
        `--host=${host}`,
        `--default-address-pool=base=${pool},size=24`,
        `--cgroup-parent=/${cgroupParent}`,
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
    daemon.unref();
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await docker.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline || daemon.exitCode !== null) {
          const tail = readFileSync(path.join(root, 'dockerd.log'), 'utf8').split('\n').slice(-20).join('\n');
          throw new Error(`the private dockerd did not answer: ${String(error)}\n${tail}`);
        }
        await sleep(250);
      }
    }
  };

  /** Every process in our namespace (containerd, shims, docker-proxies) or naming our exec root. */
  const enginePids = () => {
    const inside = new Set(
      execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
    return processes()
      .filter((p) => p.pid !== daemon?.pid && (inside.has(p.pid) || p.cmd.includes(execRoot)))
      .map((p) => p.pid);
  };

  /** Every process in a container of ours (they sit in cgroups under our parent). */
  const containerPids = () => {
    const pids = new Set<number>();
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(dir, entry.name));
        else if (entry.name === 'cgroup.procs')
          for (const pid of readFileSync(path.join(dir, entry.name), 'utf8').split('\n'))
            if (pid) pids.add(Number(pid));
      }
    };
    walk(`/sys/fs/cgroup/pids/${cgroupParent}`);
    walk(`/sys/fs/cgroup/memory/${cgroupParent}`);
    walk(`/sys/fs/cgroup/unified/${cgroupParent}`);
    walk(`/sys/fs/cgroup/${cgroupParent}`);
    return [...pids];
  };

  /** Mount points under our root, deepest first. */
  const ourMounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length);

  const unmountAll = async () => {
    for (const mount of ourMounts()) await execFileAsync('umount', ['-l', mount]).catch(() => {});
  };

  /** The supervised containerd's pid, from the file dockerd keeps. */
  const containerdPid = () => {
    try {
      return [Number(readFileSync(path.join(execRoot, 'containerd', 'containerd.pid'), 'utf8').trim())];
    } catch {
      return [];
    }
  };

  // dockerd's containerd dies with it (parent-death signal) and stays a zombie until this
  // host's init reaps it; a dockerd started before that finds "containerd is still
  // running" at the old pid and times out connecting to it. So wait for both to be gone.
  const killDaemon = async () => {
    if (!daemon?.pid) return;
    const pids = [daemon.pid, ...containerdPid()];
    kill(daemon.pid);
    await waitGone(pids, 20_000);
    daemon = undefined;
  };

  const crash = async () => {
    const everything = [
      ...(daemon?.pid ? [daemon.pid] : []),
      ...containerdPid(),
      ...enginePids(),
      ...containerPids(),
    ];
    for (const pid of everything) kill(pid);
    await waitGone(everything, 20_000);
    // What a reboot would have killed too: any container process left.
    for (const pid of containerPids()) kill(pid);
    daemon = undefined;
    await unmountAll();
    rmSync(execRoot, { recursive: true, force: true });
    mkdirSync(execRoot, { recursive: true });
  };

  const removeCgroups = () => {
    for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
      const top = path.join('/sys/fs/cgroup', controller, cgroupParent);
      if (!existsSync(top)) continue;
      const rmTree = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true }))
          if (entry.isDirectory()) rmTree(path.join(dir, entry.name));
        try {
          rmdirSync(dir);
        } catch {
          // busy or gone
        }
      };
      rmTree(top);
    }
  };

  await start().catch(async (error) => {
    await execFileAsync('ip', ['netns', 'del', netns]).catch(() => {});
    throw error;
  });

  return {
    host,
    socket,
    address,
    publishAddress,
    netns,
    daemonJson,
    pidfile,
    docker,
    env,
    start,
    killDaemon,
    crash,
    async loadImage(ref, from = { ...process.env, DOCKER_HOST: process.env.DOCKER_HOST ?? '' }) {
      const fromHost = from.DOCKER_HOST ? `-H ${from.DOCKER_HOST}` : '';
      await execFileAsync(
        'bash',
        ['-o', 'pipefail', '-c', `docker ${fromHost} save "$0" | docker -H "$1" load -q`, ref, host],
        {
          maxBuffer: 16 * 1024 * 1024,
        },
      );
    },
    async close() {
      // Containers first (their processes), then the daemon with a grace, then the rest.
      if (daemon?.pid) {
        kill(daemon.pid, 'SIGTERM');
        if (!(await waitGone([daemon.pid], 20_000))) kill(daemon.pid);
      }
      await crash();
      await unmountAll();
      rmSync(root, { recursive: true, force: true });
      removeCgroups();
      // Deleting the namespace deletes the veth pair (both ends) with it.
      await execFileAsync('ip', ['netns', 'del', netns]).catch(() => {});
      await execFileAsync('ip', ['link', 'del', `${netns}h`]).catch(() => {});
    },
  };
}
