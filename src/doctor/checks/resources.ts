// Resource limits: staging is capped, and production comes first for CPU, memory and the OOM killer.
import type Docker from 'dockerode';
import { type Check, containerOf } from './check.js';

export const priorityCheck: Check = {
  id: 'priority',
  title: 'Resource limits give production priority',
  async run(s, p) {
    const limits = (c: Docker.ContainerInspectInfo) => {
      const h = c.HostConfig;
      const quota = h.CpuQuota && h.CpuPeriod ? h.CpuQuota / h.CpuPeriod : 0;
      return {
        cpus: h.NanoCpus ? h.NanoCpus / 1e9 : quota,
        memory: h.Memory ?? 0,
        shares: h.CpuShares || 1024,
        oom: h.OomScoreAdj ?? 0,
      };
    };
    const [sl, pl] = [limits(containerOf(s)), limits(containerOf(p))];
    const show = (l: typeof sl) =>
      `${l.cpus || 'unlimited'} CPUs, ${l.memory ? `${Math.round(l.memory / 2 ** 20)} MiB` : 'unlimited memory'}, CPU weight ${l.shares}, OOM score adj ${l.oom}`;
    const wrong: string[] = [];
    if (!sl.cpus) wrong.push('staging has no CPU limit');
    if (!sl.memory) wrong.push('staging has no memory limit');
    if (pl.cpus && pl.cpus < sl.cpus) wrong.push('production may use fewer CPUs than staging');
    if (pl.memory && pl.memory < sl.memory) wrong.push('production may use less memory than staging');
    if (pl.shares <= sl.shares) wrong.push("production's CPU weight is not above staging's");
    if (pl.oom >= sl.oom) wrong.push('the OOM killer would not pick staging first');
    return {
      ok: wrong.length === 0,
      evidence: `production: ${show(pl)}; staging: ${show(sl)}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
      fix: "keep the compose files' limits: staging cpus 0.5, 384M, cpu_shares 256, oom_score_adj 500; production above it on each",
    };
  },
};
