// Each container says which environment it is, in APP_ENV, its name and its compose project.
import { ENVIRONMENTS } from '../../config/environments.js';
import { nameOf } from '../../deployer/docker-helpers.js';
import { type Check, COMPOSE_UP, containerOf, settingsOf } from './check.js';

/** identity-staging, then identity-production. */
export const identityChecks: readonly Check[] = (['staging', 'production'] as const).map(
  (env): Check => ({
    id: `identity-${env}`,
    title: `The ${env} container says ${env} in APP_ENV, its name and its compose project`,
    async run(s, p) {
      const f = env === 'staging' ? s : p;
      const c = containerOf(f);
      const own = ENVIRONMENTS[env].marker;
      const other = ENVIRONMENTS[env === 'staging' ? 'production' : 'staging'].marker;
      const belongs = (name: string | undefined) => !!name && name.includes(own) && !name.includes(other);
      const appEnv = settingsOf(f).APP_ENV;
      const project = c.Config.Labels?.['com.docker.compose.project'];
      const wrong: string[] = [];
      if (appEnv !== env) wrong.push(`APP_ENV is ${appEnv ?? 'unset'}`);
      if (!belongs(nameOf(c))) wrong.push(`the name does not say ${own}`);
      if (!project) wrong.push('it was not started by docker-compose (no project label)');
      else if (!belongs(project)) wrong.push(`the compose project does not say ${own}`);
      return {
        ok: wrong.length === 0,
        evidence: `${nameOf(c)}: APP_ENV=${appEnv ?? 'unset'}, compose project ${project ?? 'none'}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
        fix: `run it with its own compose file and project: ${COMPOSE_UP[env]}`,
      };
    },
  }),
);
