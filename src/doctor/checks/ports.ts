// The two apps publish no host port in common.
import { publishedPorts } from '../facts.js';
import { type Check, containerOf, list } from './check.js';

export const hostPortsCheck: Check = {
  id: 'host-ports',
  title: 'Host ports differ',
  async run(s, p) {
    const [sp, pp] = [publishedPorts(containerOf(s)), publishedPorts(containerOf(p))];
    const port = (b: string) => b.slice(b.lastIndexOf(':') + 1);
    const clash = sp.filter((b) => pp.some((o) => port(o) === port(b))).map(port);
    return {
      ok: clash.length === 0,
      evidence: `staging publishes ${list(sp)}; production ${list(pp)}${clash.length ? `: both use port ${[...new Set(clash)].join(', ')}` : ''}`,
      fix: 'give each environment its own host port (PORT 3001 for staging, 3000 for production, in the compose files)',
    };
  },
};
