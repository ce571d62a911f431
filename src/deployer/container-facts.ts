import type Docker from 'dockerode';
import { findContainer } from './docker-helpers.js';

interface StatsSample {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: { inactive_file?: number; cache?: number } };
}

/** CPU % as `docker stats` computes it, between two samples. */
export function cpuPercentOf(before: StatsSample, after: StatsSample): number | undefined {
  const cpu =
    (after.cpu_stats?.cpu_usage?.total_usage ?? 0) - (before.cpu_stats?.cpu_usage?.total_usage ?? 0);
  const system = (after.cpu_stats?.system_cpu_usage ?? 0) - (before.cpu_stats?.system_cpu_usage ?? 0);
  if (!before.cpu_stats?.system_cpu_usage || system <= 0) return undefined;
  return (cpu / system) * (after.cpu_stats?.online_cpus ?? 1) * 100;
}

const SAMPLE_GAP_MS = 250;

/** A container's state, health, version and, while it runs, its CPU and memory. */
export async function containerFacts(docker: Docker, name: string) {
  const info = await findContainer(docker, name);
  if (!info) throw new Error(`there is no container ${name}`);
  const facts = {
    name,
    state: info.State.Status,
    health: info.State.Health?.Status,
    startedAt: info.State.Running ? new Date(info.State.StartedAt) : undefined,
    sha: info.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length),
  };
  if (!info.State.Running) return facts;
  // Two one-shot samples a moment apart: `stream: false` alone makes the engine wait a second.
  const sample = () =>
    docker
      .getContainer(info.Id)
      .stats({ stream: false, 'one-shot': true } as { stream: false }) as Promise<StatsSample>;
  const first = await sample();
  await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS));
  const stats = await sample();
  const cache = stats.memory_stats?.stats?.inactive_file ?? stats.memory_stats?.stats?.cache ?? 0;
  return {
    ...facts,
    cpuPercent: cpuPercentOf(first, stats),
    memoryBytes: stats.memory_stats?.usage !== undefined ? stats.memory_stats.usage - cache : undefined,
    memoryLimitBytes: stats.memory_stats?.limit,
  };
}
