// On Swarm: every secret lugh reads comes from a Docker secret (`X_FILE` pointing at one the
// service mounts), none sits in a service's plain env, and the two stacks share no secret,
// by name or by id. Secret values are never read: Swarm does not give them out.
import { isPlaceholder, secretsOfEnv } from '../../../config/index.js';
import type { EnvironmentFacts } from '../../facts.js';
import { type Check, list, serviceOf } from '../check.js';

/** What is wrong with one environment's service on its own. */
function problemsOf(f: EnvironmentFacts): string[] {
  const service = serviceOf(f);
  const wrong: string[] = [];
  for (const [key, value] of Object.entries(service.env)) {
    if (!value || isPlaceholder(value)) continue;
    if (key.endsWith('_FILE')) {
      if (!service.secrets.some((s) => s.path === value))
        wrong.push(
          `${f.env} reads ${key.slice(0, -5)} from ${value}, which is no Docker secret of ${service.name} (a file on the node)`,
        );
    } else if (secretsOfEnv({ [key]: value }).length)
      wrong.push(`${f.env}'s ${key} is in ${service.name}'s plain env`);
  }
  return wrong;
}

export const swarmSecretsCheck: Check = {
  id: 'secrets',
  title: 'Secrets come from Docker secrets, and the two stacks share none',
  async run(s, p) {
    const [ss, ps] = [serviceOf(s), serviceOf(p)];
    const wrong = [...problemsOf(s), ...problemsOf(p)];
    const byName = ss.secrets.filter((x) => ps.secrets.some((o) => o.name === x.name)).map((x) => x.name);
    const byId = ss.secrets
      .filter((x) => ps.secrets.some((o) => o.id === x.id) && !byName.includes(x.name))
      .map(
        (x) => `${x.name} (the same secret as production's ${ps.secrets.find((o) => o.id === x.id)!.name})`,
      );
    if (byName.length) wrong.push(`both read the secret ${[...new Set(byName)].join(', ')}`);
    if (byId.length) wrong.push(`staging reads ${byId.join(', ')}`);
    const refs = (x: typeof ss) => list(x.secrets.map((r) => r.name));
    return {
      ok: wrong.length === 0,
      evidence: `staging reads the secrets ${refs(ss)}; production ${refs(ps)}${
        wrong.length ? ` — ${wrong.join('; ')}` : '; none shared by name or id, no secret in a plain env'
      }`,
      fix: 'make each stack its own secrets (docker secret create lugh-staging-… / lugh-prod-…), give them to the service with `secrets:` and point the `*_FILE` variable at /run/secrets/<name>; remove the plain variable',
    };
  },
};
