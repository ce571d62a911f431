// What every isolation check is, and the readers that turn missing facts into "could not check".
import type Docker from 'dockerode';
import type { AppEnv } from '../../config/environments.js';
import { databaseOf, type EnvironmentFacts } from '../facts.js';
import type { SwarmServiceFacts } from '../swarm-facts.js';
import { Unchecked } from '../unchecked.js';

/** `skipped`: the check has no meaning here (e.g. on Swarm); the evidence says why. Counts as no failure. */
export type Verdict = { ok: boolean; evidence: string; fix?: string; skipped?: boolean };

/** A check that does not apply where the audit runs, and why. */
export const skipped = (why: string): Verdict => ({ ok: true, skipped: true, evidence: why });

/** One line of the audit: it passes or fails on the facts of both environments. */
export interface Check {
  readonly id: string;
  readonly title: string;
  run(s: EnvironmentFacts, p: EnvironmentFacts, docker?: Docker): Promise<Verdict>;
}

export const COMPOSE_UP: Record<AppEnv, string> = {
  staging: 'docker-compose -p lugh-staging --env-file .env.staging -f docker-compose.staging.yml up -d',
  production: 'docker-compose -p lugh-prod --env-file .env.prod -f docker-compose.prod.yml up -d',
};

export const ENGINE_FIX =
  'start the Docker engine (dockerd), or point DOCKER_HOST at it, and run the audit again';

export function containerOf(f: EnvironmentFacts): Docker.ContainerInspectInfo {
  if (f.container) return f.container;
  throw new Unchecked(
    `${f.env}: ${f.missing}`,
    f.engineDown ? ENGINE_FIX : `start ${f.env}: ${COMPOSE_UP[f.env]}`,
  );
}

export const STACK_DEPLOY: Record<AppEnv, string> = {
  staging: 'docker stack deploy -c docker-compose.staging.yml lugh-staging (README, Docker Swarm)',
  production: 'docker stack deploy -c docker-compose.prod.yml lugh-prod (README, Docker Swarm)',
};

/** An environment's app service (DEPLOY_RUNTIME=swarm), or why it cannot be checked. */
export function serviceOf(f: EnvironmentFacts): SwarmServiceFacts {
  if (f.service) return f.service;
  throw new Unchecked(
    `${f.env}: ${f.missing}`,
    f.engineDown ? ENGINE_FIX : `deploy ${f.env}: ${STACK_DEPLOY[f.env]}`,
  );
}

export function settingsOf(f: EnvironmentFacts) {
  if (f.settings) return f.settings;
  throw new Unchecked(
    `${f.env}: no settings to read (${f.missing})`,
    `start ${f.env} (${COMPOSE_UP[f.env]}) or run lugh doctor next to .env.staging and .env.prod`,
  );
}

/** Both environments' databases, or why they cannot be told. */
export function databasesOf(s: EnvironmentFacts, p: EnvironmentFacts) {
  settingsOf(s);
  settingsOf(p);
  const [sd, pd] = [databaseOf(s), databaseOf(p)];
  if (!sd || !pd)
    throw new Unchecked(
      'a DATABASE_URL is missing or not a URL',
      'set DATABASE_URL in each .env.<env>.local',
    );
  return [sd, pd] as const;
}

/** Where an environment's settings came from, when not its container. */
export const from = (f: EnvironmentFacts) =>
  f.settingsFrom === f.containerName ? '' : ` (from ${f.settingsFrom})`;
export const list = (items: readonly string[]) => (items.length ? items.join(', ') : 'none');
