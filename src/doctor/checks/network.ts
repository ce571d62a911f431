// The apps share no network, and neither can resolve or reach the other from inside.
import type Docker from 'dockerode';
import { nameOf } from '../../deployer/docker-helpers.js';
import { networksOf, settingWithDefault } from '../facts.js';
import { probeReach } from '../probes.js';
import { Unchecked } from '../unchecked.js';
import { type Check, containerOf, list } from './check.js';

async function reachFrom(
  docker: Docker,
  a: Docker.ContainerInspectInfo,
  b: Docker.ContainerInspectInfo,
  port: number,
) {
  const names = new Set([nameOf(b)]);
  const service = b.Config.Labels?.['com.docker.compose.service'];
  if (service) names.add(service);
  for (const n of Object.values(b.NetworkSettings?.Networks ?? {}))
    for (const alias of n.Aliases ?? []) names.add(alias);
  const targets = Object.values(b.NetworkSettings?.Networks ?? {})
    .map((n) => n.IPAddress)
    .filter(Boolean)
    .map((ip) => [ip, port] as const);
  const result = await probeReach(docker, nameOf(a), [...names], targets);
  const resolved = result.names.filter((n) => n.address).map((n) => `${n.name} → ${n.address}`);
  const reached = result.addresses
    .filter((t) => t.reached)
    .map((t) => `${t.address}${t.error ? ` (${t.error})` : ''}`);
  const blocked = result.addresses.filter((t) => !t.reached).map((t) => `${t.address} (${t.error})`);
  return {
    isolated: resolved.length === 0 && reached.length === 0,
    text:
      resolved.length || reached.length
        ? `from ${nameOf(a)}: ${[...resolved.map((r) => `resolves ${r}`), ...reached.map((r) => `reaches ${r}`)].join('; ')}`
        : `from ${nameOf(a)}: ${result.names.length} name(s) of ${nameOf(b)} do not resolve, ${list(blocked)} do not answer`,
  };
}

export const networkCheck: Check = {
  id: 'network',
  title: 'The apps share no network and cannot resolve or reach each other',
  async run(s, p, docker) {
    const [sc, pc] = [containerOf(s), containerOf(p)];
    const [sn, pn] = [networksOf(sc), networksOf(pc)];
    const shared = sn.filter((n) => pn.includes(n));
    const where = `staging on ${list(sn)}; production on ${list(pn)}`;
    const fix =
      'give each compose file its own networks (never a shared one), e.g. lugh-staging-data and lugh-prod-data';
    if (shared.length) return { ok: false, evidence: `${where}: both on ${shared.join(', ')}`, fix };
    for (const c of [sc, pc])
      if (!c.State.Running)
        throw new Unchecked(
          `${nameOf(c)} is ${c.State.Status}, so nothing can be tried from it`,
          'start it and run the audit again',
        );
    const [there, back] = await Promise.all([
      reachFrom(docker!, sc, pc, Number(settingWithDefault(p, 'PORT'))),
      reachFrom(docker!, pc, sc, Number(settingWithDefault(s, 'PORT'))),
    ]);
    return { ok: there.isolated && back.isolated, evidence: `${where}; ${there.text}; ${back.text}`, fix };
  },
};
