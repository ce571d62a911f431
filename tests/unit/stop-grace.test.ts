import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPLY_RETRY_MAX_SECONDS, SHUTDOWN_DEADLINE_MS, STOP_GRACE_SECONDS } from '../../src/stop-grace.js';
import { REPO_ROOT } from '../helpers/docker.js';

// A stopping instance answers the update in flight, whose reply may wait out a 429: each
// limit outlasts the one inside it, or that update is lost.
describe('the stop grace', () => {
  it('outlasts the shutdown deadline, which outlasts the longest wait for a reply', () => {
    expect(SHUTDOWN_DEADLINE_MS).toBeGreaterThan(REPLY_RETRY_MAX_SECONDS * 1000);
    expect(STOP_GRACE_SECONDS * 1000).toBeGreaterThan(SHUTDOWN_DEADLINE_MS);
  });

  it.each(['docker-compose.staging.yml', 'docker-compose.prod.yml'])(
    '%s gives the app that grace',
    (file) => {
      const compose = parse(readFileSync(`${REPO_ROOT}/${file}`, 'utf8')) as {
        services: Record<string, { stop_grace_period?: string }>;
      };
      const graces = Object.entries(compose.services)
        .filter(([name]) => name.endsWith('-app'))
        .map(([, service]) => service.stop_grace_period);
      expect(graces.length).toBeGreaterThan(0);
      for (const grace of graces) expect(grace).toBe(`${STOP_GRACE_SECONDS}s`);
    },
  );
});
