// On Swarm: each app service says which environment it is, in APP_ENV, its name and its stack.
import { ENVIRONMENTS } from '../../../config/environments.js';
import { STACK_LABEL } from '../../swarm-facts.js';
import { type Check, STACK_DEPLOY, serviceOf, settingsOf } from '../check.js';

/** identity-staging, then identity-production, as the Docker runtime's. */
export const swarmIdentityChecks: readonly Check[] = (['staging', 'production'] as const).map(
  (env): Check => ({
    id: `identity-${env}`,
    title: `The ${env} service says ${env} in APP_ENV, its name and its stack`,
    async run(s, p) {
      const f = env === 'staging' ? s : p;
      const service = serviceOf(f);
      const own = ENVIRONMENTS[env].marker;
      const other = ENVIRONMENTS[env === 'staging' ? 'production' : 'staging'].marker;
      const belongs = (name: string | undefined) => !!name && name.includes(own) && !name.includes(other);
      const appEnv = settingsOf(f).APP_ENV;
      const stack = service.labels[STACK_LABEL];
      const wrong: string[] = [];
      if (appEnv !== env) wrong.push(`APP_ENV is ${appEnv ?? 'unset'}`);
      if (!belongs(service.name)) wrong.push(`the name does not say ${own}`);
      if (!stack) wrong.push('it was not deployed as a stack (no stack label)');
      else if (!belongs(stack)) wrong.push(`the stack does not say ${own}`);
      return {
        ok: wrong.length === 0,
        evidence: `${service.name}: APP_ENV=${appEnv ?? 'unset'}, stack ${stack ?? 'none'}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
        fix: `deploy it as its own stack: ${STACK_DEPLOY[env]}`,
      };
    },
  }),
);
