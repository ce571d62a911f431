import type Docker from 'dockerode';
import { withDeadline } from '../deadline.js';
import { findContainer } from './docker-helpers.js';

interface StatsSample {
  /** When the engine took the sample. */
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: { inactive_file?: number; cache?: number } };
}

/** CPU % as `docker stats` computes it, between two samples. */
function cpuPercentOf(before: StatsSample, after: StatsSample): number | undefined {
  const cpu =
    (after.cpu_stats?.cpu_usage?.total_usage ?? 0) - (before.cpu_stats?.cpu_usage?.total_usage ?? 0);
  const system = (after.cpu_stats?.system_cpu_usage ?? 0) - (before.cpu_stats?.system_cpu_usage ?? 0);
  if (!before.cpu_stats?.system_cpu_usage || system <= 0) return undefined;
  return (cpu / system) * (after.cpu_stats?.online_cpus ?? 1) * 100;
}

/** Docker's stats come once a second; CPU needs two of them, memory one. */
const USAGE_WITHIN_MS = 1_400;
/** A remembered sample older than this is too stale to average CPU over. */
const REMEMBER_MS = 10 * 60_000;

export interface ContainerUsage {
  readonly cpuPercent?: number;
  /** The span the CPU figure covers: the engine's last second, or since the previous look. */
  readonly cpuWindowMs?: number;
  readonly memoryBytes?: number;
  readonly memoryLimitBytes?: number;
  /** Why CPU or memory is missing. */
  readonly usageWhy?: string;
}

/** The next samples of a container's stats stream, as they come. */
async function* samples(stream: NodeJS.ReadableStream): AsyncGenerator<StatsSample> {
  let buffered = '';
  for await (const chunk of stream) {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield JSON.parse(line);
      newline = buffered.indexOf('\n');
    }
  }
}

/**
 * A container's state, health, version and, while it runs, its CPU and memory. The engine
 * publishes stats once a second, so CPU (a difference of two samples) costs up to two
 * seconds when asked cold: the previous look's sample is remembered, so CPU is then
 * averaged since it, and a look that cannot get a second sample in time has memory only.
 */
export function createContainerFacts(
  docker: Docker,
  options: { usageWithinMs?: number; now?: () => number } = {},
) {
  const budget = options.usageWithinMs ?? USAGE_WITHIN_MS;
  const now = options.now ?? Date.now;
  const remembered = new Map<string, { sample: StatsSample; at: number }>();
  const remember = (id: string, sample: StatsSample, at: number) => {
    remembered.set(id, { sample, at });
    // Containers come and go with deploys: forget the ones not looked at lately.
    for (const [key, value] of remembered) if (at - value.at > REMEMBER_MS) remembered.delete(key);
  };

  const usage = async (id: string, until: number): Promise<ContainerUsage> => {
    if (until - now() <= 0) throw new Error(`no time left for stats within ${budget} ms`);
    type Stream = NodeJS.ReadableStream & { destroy(): void };
    const opening = docker.getContainer(id).stats({ stream: true }) as Promise<Stream>;
    let stream: Stream;
    try {
      stream = await withDeadline(opening, Math.max(0, until - now()), 'no stats');
    } catch (error) {
      // The request goes on after the deadline: a stream that opens late is closed at once,
      // or it would send a sample a second for good.
      opening.then(
        (late) => late.destroy(),
        () => {},
      );
      throw error;
    }
    let late = false;
    const timer = setTimeout(
      () => {
        late = true;
        stream.destroy();
      },
      Math.max(0, until - now()),
    );
    let result: ContainerUsage = {};
    let first: { sample: StatsSample; at: number } | undefined;
    const cut = () => {
      if (!first) throw new Error(`no stats within ${budget} ms`);
      return { ...result, usageWhy: `CPU needs a second sample, none within ${budget} ms` };
    };
    try {
      for await (const sample of samples(stream)) {
        const at = sample.read ? new Date(sample.read).getTime() : now();
        if (!first) {
          first = { sample, at };
          const cache = sample.memory_stats?.stats?.inactive_file ?? sample.memory_stats?.stats?.cache ?? 0;
          result = {
            memoryBytes:
              sample.memory_stats?.usage !== undefined ? sample.memory_stats.usage - cache : undefined,
            memoryLimitBytes: sample.memory_stats?.limit,
          };
          const before = remembered.get(id);
          remember(id, sample, at);
          // From an earlier pass of the engine's once-a-second collector, and not too old.
          if (before && at - before.at >= 500 && at - before.at <= REMEMBER_MS) {
            const cpu = cpuPercentOf(before.sample, sample);
            if (cpu !== undefined) return { ...result, cpuPercent: cpu, cpuWindowMs: at - before.at };
          }
          continue;
        }
        remember(id, sample, at);
        const cpu = cpuPercentOf(first.sample, sample);
        return cpu === undefined ? result : { ...result, cpuPercent: cpu, cpuWindowMs: at - first.at };
      }
      if (late) return cut();
      if (first) return { ...result, usageWhy: 'the stats stream ended after one sample' };
      throw new Error('the stats stream ended without a sample');
    } catch (error) {
      // Cut at the deadline: what came before it stands.
      if (late) return cut();
      throw error;
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
  };

  return async (name: string) => {
    const until = now() + budget;
    const info = await findContainer(docker, name);
    if (!info) throw new Error(`there is no container ${name}`);
    const facts = {
      name,
      state: info.State.Status,
      health: info.State.Health?.Status,
    };
    if (!info.State.Running) return facts;
    // Usage is a part of the facts: its failure or slowness must not hide the state.
    const used = await usage(info.Id, until).catch(
      (error: unknown): ContainerUsage => ({
        usageWhy: error instanceof Error ? error.message : String(error),
      }),
    );
    return { ...facts, ...used };
  };
}
