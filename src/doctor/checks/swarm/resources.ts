// On Swarm: staging is capped, and production comes first. Swarm service specs carry no
// OOM score adjustment or CPU shares (API 1.41), so what gives production priority there
// is its reservation: the scheduler only places a task where its reserved memory and CPUs
// are free, and counts them as taken. Checked: production reserves memory, and reserves at
// least what staging does. Placement constraints are shown, not judged.
import type { SwarmResources, SwarmServiceFacts } from '../../swarm-facts.js';
import { type Check, serviceOf } from '../check.js';

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
const show = (r: SwarmResources, none: string) =>
  `${r.cpus ? `${r.cpus} CPUs` : `${none} CPUs`}, ${r.memory ? mib(r.memory) : `${none} memory`}`;

export const swarmResourcesCheck: Check = {
  id: 'resources',
  title: 'Resource limits cap staging at or below production',
  async run(s, p) {
    const [sl, pl] = [serviceOf(s).limits, serviceOf(p).limits];
    const wrong: string[] = [];
    if (!sl.cpus) wrong.push('staging has no CPU limit');
    if (!sl.memory) wrong.push('staging has no memory limit');
    if (pl.cpus && pl.cpus < sl.cpus) wrong.push('production may use fewer CPUs than staging');
    if (pl.memory && pl.memory < sl.memory) wrong.push('production may use less memory than staging');
    return {
      ok: wrong.length === 0,
      evidence: `limits: production ${show(pl, 'unlimited')}; staging ${show(sl, 'unlimited')}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
      fix: 'set deploy.resources.limits in the stack files: staging cpus 0.5, memory 384M; production at or above it',
    };
  },
};

const placement = (x: SwarmServiceFacts) => (x.placement.length ? x.placement.join(', ') : 'anywhere');

export const swarmPriorityCheck: Check = {
  id: 'priority',
  title: 'Production reserves its resources first (Swarm has no OOM priority)',
  async run(s, p) {
    const [ss, ps] = [serviceOf(s), serviceOf(p)];
    const [sr, pr] = [ss.reservations, ps.reservations];
    const wrong: string[] = [];
    if (!pr.memory) wrong.push('production reserves no memory');
    else if (pr.memory < sr.memory) wrong.push('production reserves less memory than staging');
    if (pr.cpus < sr.cpus) wrong.push('production reserves fewer CPUs than staging');
    return {
      ok: wrong.length === 0,
      evidence: `reservations: production ${show(pr, 'no')}; staging ${show(sr, 'no')}${
        wrong.length ? ` — ${wrong.join('; ')}` : ''
      }; placement (shown, not judged): production ${placement(ps)}, staging ${placement(ss)}; no OOM score or CPU weight on Swarm services`,
      fix: 'set deploy.resources.reservations in the stack files: production memory 256M or more, staging none or less than production',
    };
  },
};
