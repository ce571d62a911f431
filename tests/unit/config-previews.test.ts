// The preview settings: previews need their address, and none of them may lead to
// production, by name alone or (with production's env file) by value.
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigProblem, createConfig } from '../../src/config/index.js';

const TOKEN = '1234567:AAH-fake_token_for_tests_only_0123456789';
const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: TOKEN,
  DATABASE_URL: 'postgres://lugh_staging:staging-pw@db:5432/staging_lugh',
  REDIS_URL: 'redis://redis:6379',
  ADMIN_IDS: '111',
  PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/',
};
const PROD_DB_PASSWORD = 'prod-db-s3cret';
const PROD_REDIS_PASSWORD = 'prod-redis-s3cret';
const productionFile = {
  from: '/srv/lugh/.env.prod',
  env: {
    APP_ENV: 'production',
    COMPOSE_PROJECT_NAME: 'lugh-live',
    DATABASE_URL: `postgres://lugh_live:${PROD_DB_PASSWORD}@db:5432/live_lugh`,
    REDIS_URL: `redis://live:${PROD_REDIS_PASSWORD}@redis:6379`,
    DEPLOY_CONTAINER: 'lugh-prod-app',
  },
};

/** `other` null: production's env file is not known. */
function problemsOf(
  env: Record<string, string>,
  other: typeof productionFile | null = productionFile,
): readonly ConfigProblem[] {
  try {
    createConfig(env, { other: other ?? undefined });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    // Secrets of either environment never appear in a message.
    for (const p of problems)
      for (const secret of [PROD_DB_PASSWORD, PROD_REDIS_PASSWORD, 'staging-pw', 'admin-pw'])
        expect(p.message).not.toContain(secret);
    return problems;
  }
  return [];
}

const only = (env: Record<string, string>, other: typeof productionFile | null = productionFile) => {
  const problems = problemsOf(env, other);
  expect(problems.map((p) => p.variable)).toHaveLength(1);
  return problems[0]!;
};

describe('preview settings', () => {
  it('accept a staging set-up that leads nowhere near production', () => {
    const config = createConfig(
      {
        ...staging,
        PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_previews:admin-pw@db:5432/postgres',
        PREVIEW_DATA_NETWORK: 'lugh-staging-data',
        PREVIEW_REDIS_URL: 'redis://lugh_previews:previews-pw@redis:6379',
        PREVIEW_PROXY_ADMIN_URL: 'http://lugh-preview-proxy:2019',
        PREVIEW_PROXY_CONTAINER: 'lugh-preview-proxy',
      },
      { other: productionFile },
    );
    expect(config.flags.previews).toBe(true);
  });

  it('need PREVIEW_URL_TEMPLATE while previews are on, saying what to set', () => {
    const { PREVIEW_URL_TEMPLATE: _, ...without } = staging;
    expect(problemsOf(without)).toEqual([]);
    const problem = only({ ...without, FEATURE_PREVIEWS: 'true' });
    expect(problem.variable).toBe('PREVIEW_URL_TEMPLATE');
    expect(problem.message).toMatch(
      /^is required while previews are on \(FEATURE_PREVIEWS=true\): set it to/,
    );
    expect(problem.message).toContain('https://pr-{n}.preview.example.com');
    expect(problem.message).toContain('or set FEATURE_PREVIEWS=false');
  });

  it('refuse a database admin URL of production: its database, its role, its password', () => {
    const byName = only({
      ...staging,
      PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_previews:admin-pw@db:5432/prod_lugh',
    });
    expect(byName).toMatchObject({ variable: 'PREVIEW_DATABASE_ADMIN_URL' });
    expect(byName.message).toMatch(
      /^names database "prod_lugh", which belongs to production\. Point it at staging’s Postgres server as a role made for previews/,
    );
    const byFile = only({
      ...staging,
      PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_previews:admin-pw@db:5432/live_lugh',
    });
    expect(byFile.message).toMatch(/^names database "live_lugh", which belongs to production/);
    const role = only({
      ...staging,
      PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_live:admin-pw@db:5432/postgres',
    });
    expect(role.message).toMatch(/^connects as role "lugh_live", which belongs to production/);
    const prodRole = only(
      { ...staging, PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_prod@db:5432/postgres' },
      null,
    );
    expect(prodRole.message).toMatch(/^connects as role "lugh_prod", which belongs to production/);
    const password = only({
      ...staging,
      PREVIEW_DATABASE_ADMIN_URL: `postgres://postgres:${PROD_DB_PASSWORD}@db:5432/postgres`,
    });
    expect(password.message).toMatch(
      /^uses the password of production's DATABASE_URL \(\/srv\/lugh\/\.env\.prod\)\./,
    );
  });

  it('refuse production’s network as the data network, naming staging’s instead', () => {
    for (const network of ['lugh-prod-data', 'lugh-live_edge', 'lugh-live_default']) {
      const problem = only({ ...staging, PREVIEW_DATA_NETWORK: network });
      expect(problem.variable).toBe('PREVIEW_DATA_NETWORK');
      expect(problem.message).toContain(`is "${network}", `);
      expect(problem.message).toContain(
        'could reach production’s app and database. Set it to staging’s data network, lugh-staging-data, or leave it unset.',
      );
    }
    expect(only({ ...staging, PREVIEW_DATA_NETWORK: 'lugh-live_edge' }).message).toContain(
      "a network of production's compose project (/srv/lugh/.env.prod) lugh-live",
    );
  });

  it('refuse production’s Redis user or password', () => {
    const user = only({ ...staging, PREVIEW_REDIS_URL: 'redis://live:other@redis:6379' });
    expect(user).toMatchObject({ variable: 'PREVIEW_REDIS_URL' });
    expect(user.message).toMatch(
      /^logs in as "live", production’s Redis user\. Give previews staging’s Redis URL/,
    );
    const password = only({ ...staging, PREVIEW_REDIS_URL: `redis://:${PROD_REDIS_PASSWORD}@redis:6379` });
    expect(password.message).toMatch(
      /^uses the password of production's REDIS_URL \(\/srv\/lugh\/\.env\.prod\)\./,
    );
  });

  it('refuse a PREVIEW_REDIS_URL with no password: any preview could log in as Redis’s default user', () => {
    for (const url of ['redis://redis:6379', 'redis://lugh_previews@redis:6379']) {
      const problem = only({ ...staging, PREVIEW_REDIS_URL: url }, null);
      expect(problem.variable).toBe('PREVIEW_REDIS_URL');
      expect(problem.message).toMatch(/^has no password: /);
      expect(problem.message).toContain('default user');
      expect(problem.message).toContain('requirepass');
    }
  });

  it('refuse an app container as the proxy container', () => {
    const admin = { PREVIEW_PROXY_ADMIN_URL: 'http://lugh-preview-proxy:2019' };
    const prod = only({ ...staging, ...admin, PREVIEW_PROXY_CONTAINER: 'lugh-prod-app' });
    expect(prod.variable).toBe('PREVIEW_PROXY_CONTAINER');
    expect(prod.message).toMatch(
      /^is "lugh-prod-app", production’s container: lugh connects the proxy container to every preview’s network/,
    );
    expect(only({ ...staging, ...admin, PREVIEW_PROXY_CONTAINER: 'lugh-staging-app' }).message).toMatch(
      /^is "lugh-staging-app", staging’s app container/,
    );
  });

  it('refuse a template whose {n} the proxy cannot route by, a CPU limit of 0 and a tiny memory limit', () => {
    for (const template of [
      'http://preview.localhost:80{n}/',
      'https://preview.example.com/?pr={n}',
      'https://preview.example.com/#{n}',
    ]) {
      const problem = only({ ...staging, PREVIEW_URL_TEMPLATE: template });
      expect(problem).toMatchObject({
        variable: 'PREVIEW_URL_TEMPLATE',
        message:
          'must put {n} in the host (https://pr-{n}.preview.example.com) or the path (https://preview.example.com/pr-{n}/): the proxy routes by one of them',
      });
    }
    expect(problemsOf({ ...staging, PREVIEW_URL_TEMPLATE: 'https://preview.example.com/pr-{n}/' })).toEqual(
      [],
    );
    expect(only({ ...staging, PREVIEW_CPUS: '0' })).toEqual({
      variable: 'PREVIEW_CPUS',
      message: 'must be at least 0.01: 0 would mean no CPU limit at all',
    });
    expect(createConfig({ ...staging, PREVIEW_CPUS: '0.5' }).previews.nanoCpus).toBe(0.5e9);
    expect(only({ ...staging, PREVIEW_MEMORY_MB: '4' }).variable).toBe('PREVIEW_MEMORY_MB');
  });

  it('refuse a setting that would do nothing without its partner, naming both', () => {
    expect(only({ ...staging, PREVIEW_PROXY_CONTAINER: 'lugh-preview-proxy' })).toEqual({
      variable: 'PREVIEW_PROXY_CONTAINER',
      message:
        'is set, but PREVIEW_PROXY_ADMIN_URL is not: lugh connects that container to previews only to route them through its admin API. Set PREVIEW_PROXY_ADMIN_URL too, or unset PREVIEW_PROXY_CONTAINER.',
    });
    expect(only({ ...staging, PREVIEW_DATABASE_HOST: '172.17.0.1:5432' }).message).toMatch(
      /^is set, but PREVIEW_DATABASE_ADMIN_URL is not: previews get a database only through the admin URL\./,
    );
  });

  it('are ignored by production, with a warning', () => {
    const config = createConfig({
      ...staging,
      APP_ENV: 'production',
      DATABASE_URL: 'postgres://lugh_prod:pw@db:5432/prod_lugh',
    });
    expect(config.flags.previews).toBe(false);
    expect(config.warnings).toContain(
      'PREVIEW_URL_TEMPLATE is ignored: production never runs previews (only staging does).',
    );
  });
});
