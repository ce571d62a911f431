// The compose files' optional monitoring profile: Prometheus on both data networks (and no
// port), its config valid for promtool, and its targets the apps' container names and ports.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../helpers/docker.js';

const run = promisify(execFile);
const has = (command: string, args: string[]) =>
  run(command, args).then(
    () => true,
    () => false,
  );
const promtool = await has('promtool', ['--version']);
const compose = await has('docker-compose', ['version']);
const CONFIG = join(REPO_ROOT, 'deploy/monitoring/prometheus.yml');

interface Service {
  container_name?: string;
  profiles?: string[];
  ports?: unknown[];
  networks?: Record<string, unknown>;
  environment?: Record<string, string>;
  volumes?: Array<string | { source?: string; target?: string }>;
}

/** `docker-compose config` of one file, with the env file's settings and placeholder secrets. */
async function composeConfig(file: string, envFile: string, profile?: string) {
  const project = parseEnv(readFileSync(join(REPO_ROOT, envFile), 'utf8')).COMPOSE_PROJECT_NAME ?? '';
  const { stdout } = await run(
    'docker-compose',
    ['-p', project, '--env-file', envFile, '-f', file, ...(profile ? ['--profile', profile] : []), 'config'],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        POSTGRES_PASSWORD: 'x',
        STAGING_DB_PASSWORD: 'x',
        PROD_DB_PASSWORD: 'x',
        LUGH_HOME: '/tmp/lugh-home',
        TELEGRAM_BOT_TOKEN: 'x',
        DATABASE_URL: 'postgres://x',
        ADMIN_IDS: '1',
      },
    },
  );
  return parse(stdout) as { services: Record<string, Service> };
}

describe('the monitoring profile', () => {
  it.skipIf(!promtool)('its prometheus.yml passes promtool check config', async () => {
    const { stdout } = await run('promtool', ['check', 'config', CONFIG]);
    expect(stdout).toContain('SUCCESS');
  });

  it.skipIf(!compose)(
    'runs Prometheus on both data networks, publishing nothing, and scrapes each app by its container name and port',
    async () => {
      const infra = await composeConfig('docker-compose.infra.yml', '.env.infra', 'monitoring');
      const prometheus = infra.services.prometheus!;
      expect(prometheus.profiles).toEqual(['monitoring']);
      expect(prometheus.ports ?? []).toEqual([]);
      expect(Object.keys(prometheus.networks ?? {}).sort()).toEqual(['prod-data', 'staging-data']);
      expect(JSON.stringify(prometheus.volumes)).toContain('deploy/monitoring');
      // The file stays valid without the profile too.
      await run(
        'docker-compose',
        ['-f', 'docker-compose.infra.yml', '--env-file', '.env.infra', 'config', '-q'],
        {
          cwd: REPO_ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            POSTGRES_PASSWORD: 'x',
            STAGING_DB_PASSWORD: 'x',
            PROD_DB_PASSWORD: 'x',
          },
        },
      );

      const scrape = parse(readFileSync(CONFIG, 'utf8')) as {
        scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      };
      const targets = scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)).sort();
      const apps = await Promise.all([
        composeConfig('docker-compose.staging.yml', '.env.staging'),
        composeConfig('docker-compose.prod.yml', '.env.prod'),
      ]);
      const expected = apps
        .flatMap((c) => Object.values(c.services).filter((s) => !s.profiles))
        .map((s) => `${s.container_name}:${s.environment?.PORT}`)
        .sort();
      expect(targets).toEqual(expected);
    },
    60_000,
  );
});
