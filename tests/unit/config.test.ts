import { describe, expect, it } from 'vitest';
import { createConfig, describeConfig, secretsOf } from '../../src/config/index.js';
import { problemsOf } from '../helpers/config-problems.js';

const TOKEN = '1234567:AAH-fake_token_for_tests_only_0123456789';

const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: TOKEN,
  DATABASE_URL: 'postgres://lugh_staging:s3cretpw@db:5432/staging_lugh',
  REDIS_URL: 'redis://:redispw@redis:6379',
  ADMIN_IDS: '111, 222',
};
const production = {
  ...staging,
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://lugh_prod:s3cretpw@db:5432/prod_lugh',
};

describe('createConfig', () => {
  it('gives each environment its own defaults: prefix, port, home, display name', () => {
    const s = createConfig(staging);
    const p = createConfig(production);
    expect([s.redisPrefix, s.port, s.botDisplayName, s.home.endsWith('.lugh-staging')]).toEqual([
      'staging',
      3001,
      'Lugh Dev',
      true,
    ]);
    expect([p.redisPrefix, p.port, p.botDisplayName, p.home.endsWith('.lugh-prod')]).toEqual([
      'prod',
      3000,
      'Lugh',
      true,
    ]);
    expect(s.adminIds).toEqual([111, 222]);
    expect(s.databaseName).toBe('staging_lugh');
  });

  it('lists every missing variable by name at once', () => {
    const names = problemsOf({}).map((p) => p.variable);
    expect(names).toEqual(['APP_ENV', 'TELEGRAM_BOT_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'ADMIN_IDS']);
  });

  it('refuses a placeholder token and Telegram’s documentation example', () => {
    for (const token of [
      '__SET_IN_.env.staging.local__',
      'changeme',
      '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11',
    ]) {
      const problems = problemsOf({ ...staging, TELEGRAM_BOT_TOKEN: token });
      expect(problems).toEqual([
        { variable: 'TELEGRAM_BOT_TOKEN', message: expect.stringContaining('placeholder') },
      ]);
    }
  });

  it('refuses a malformed token without echoing it', () => {
    const problems = problemsOf({ ...staging, TELEGRAM_BOT_TOKEN: 'not-a-token-at-all' });
    expect(problems[0]?.variable).toBe('TELEGRAM_BOT_TOKEN');
    expect(JSON.stringify(problems)).not.toContain('not-a-token-at-all');
  });

  it('refuses an empty ADMIN_IDS: an empty allowlist never means everyone', () => {
    for (const ids of ['', ' , ']) {
      const problems = problemsOf({ ...staging, ADMIN_IDS: ids });
      expect(problems.map((p) => p.variable)).toContain('ADMIN_IDS');
    }
    expect(problemsOf({ ...staging, ADMIN_IDS: '12,abc' })[0]?.message).toMatch(/numeric/);
  });

  it('refuses production pointed at the staging database, and names DATABASE_URL', () => {
    const problems = problemsOf({ ...production, DATABASE_URL: 'postgres://lugh_prod:pw@db/staging_lugh' });
    expect(problems).toEqual([
      { variable: 'DATABASE_URL', message: expect.stringContaining('staging_lugh') },
    ]);
  });

  it('refuses staging pointed at the production database or role', () => {
    const problems = problemsOf({ ...staging, DATABASE_URL: 'postgres://lugh_prod:pw@db/prod_lugh' });
    expect(problems.map((p) => p.variable)).toEqual(['DATABASE_URL', 'DATABASE_URL']);
  });

  it('refuses a Redis prefix that is not the environment’s, including the other one’s', () => {
    expect(problemsOf({ ...staging, REDIS_PREFIX: 'prod' })[0]?.variable).toBe('REDIS_PREFIX');
    expect(problemsOf({ ...production, REDIS_PREFIX: 'staging' })[0]?.variable).toBe('REDIS_PREFIX');
    expect(problemsOf({ ...production, REDIS_PREFIX: 'shared' })[0]?.variable).toBe('REDIS_PREFIX');
    expect(problemsOf({ ...staging, REDIS_PREFIX: 'stagingx' })[0]?.variable).toBe('REDIS_PREFIX');
    expect(createConfig({ ...staging, REDIS_PREFIX: 'staging:ci7' }).redisPrefix).toBe('staging:ci7');
  });

  it('refuses a LUGH_HOME that belongs to the other environment', () => {
    expect(problemsOf({ ...production, LUGH_HOME: '/home/lugh/.lugh-staging' })[0]?.variable).toBe(
      'LUGH_HOME',
    );
    expect(problemsOf({ ...staging, LUGH_HOME: '/srv/.lugh-prod' })[0]?.variable).toBe('LUGH_HOME');
  });

  it('checks ports, URLs and webhook settings', () => {
    const problems = problemsOf({
      ...staging,
      PORT: '70000',
      TELEGRAM_API_ROOT: 'not a url',
      GITHUB_REPO: 'no-slash',
      TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/webhooks/telegram',
    });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'GITHUB_REPO',
      'PORT',
      'TELEGRAM_API_ROOT',
      'TELEGRAM_WEBHOOK_SECRET',
    ]);
    expect(problemsOf({ ...staging, TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/x' })).toEqual([
      { variable: 'TELEGRAM_WEBHOOK_SECRET', message: expect.stringContaining('required') },
    ]);
  });

  it('refuses an unknown FEATURE_ variable so a typo cannot switch a safeguard off', () => {
    const problems = problemsOf({ ...staging, FEATURE_TWO_PERSON_RUL: 'on' });
    expect(problems).toEqual([
      { variable: 'FEATURE_TWO_PERSON_RUL', message: expect.stringContaining('FEATURE_TWO_PERSON_RULE') },
    ]);
  });

  it('describeConfig and the problems never contain a secret', () => {
    const config = createConfig({
      ...staging,
      GITHUB_TOKEN: 'ghs_fakeGithubTokenForTests',
      GITHUB_WEBHOOK_SECRET: 'whsec-0123456789abcdef',
    });
    const printed = JSON.stringify(describeConfig(config));
    for (const secret of secretsOf(config)) expect(printed).not.toContain(secret);
    expect(secretsOf(config)).toEqual(
      expect.arrayContaining([
        TOKEN,
        's3cretpw',
        'redispw',
        'ghs_fakeGithubTokenForTests',
        'whsec-0123456789abcdef',
      ]),
    );
    const problems = JSON.stringify(
      problemsOf({ ...production, DATABASE_URL: 'postgres://u:s3cretpw@db/staging_lugh' }),
    );
    expect(problems).not.toContain('s3cretpw');
  });
});

describe('promotion settings', () => {
  it('has defaults, parses freeze windows in a time zone, and names what is wrong', () => {
    const config = createConfig({
      ...staging,
      FREEZE_WINDOWS: 'Fri 16:00-Mon 08:00',
      FREEZE_TIMEZONE: 'Europe/Berlin',
    });
    expect(config.promote).toMatchObject({
      mergeMethod: 'merge',
      ciTimeoutMs: 30 * 60_000,
      approvalTtlMs: 15 * 60_000,
      pollIntervalMs: 15_000,
      allowedChatIds: [],
      timeZone: 'Europe/Berlin',
    });
    expect(describeConfig(config)).toMatchObject({
      FREEZE_WINDOWS: 'Fri 16:00-Mon 08:00',
      FREEZE_TIMEZONE: 'Europe/Berlin',
    });
    const problems = problemsOf({
      ...staging,
      PROMOTE_MERGE_METHOD: 'force',
      PROMOTE_CI_TIMEOUT_MINUTES: '0',
      FREEZE_WINDOWS: 'Friday evening',
      FREEZE_TIMEZONE: 'Mars/Olympus',
      PROMOTE_CHAT_IDS: 'ops-group',
    });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'FREEZE_TIMEZONE',
      'FREEZE_WINDOWS',
      'PROMOTE_CHAT_IDS',
      'PROMOTE_CI_TIMEOUT_MINUTES',
      'PROMOTE_MERGE_METHOD',
    ]);
  });
});

describe('createConfig lists every problem in one run', () => {
  it('reports the crossed database, prefix and home together with a placeholder admin list', () => {
    const problems = problemsOf({
      ...production,
      DATABASE_URL: 'postgres://lugh_prod:pw@db/staging_lugh',
      REDIS_PREFIX: 'staging',
      LUGH_HOME: '/home/lugh/.lugh-staging',
      ADMIN_IDS: '__SET_IN_.env.prod.local__',
    });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'ADMIN_IDS',
      'DATABASE_URL',
      'LUGH_HOME',
      'REDIS_PREFIX',
    ]);
  });
});

describe('deploy settings', () => {
  it('default to the compose container of the environment and name what is wrong', () => {
    expect(createConfig(staging).deploy).toEqual({
      role: 'app',
      containerName: 'lugh-staging-app',
      runtime: 'docker',
      registry: undefined,
      registryUsername: undefined,
      registryPassword: undefined,
      imageRepository: 'lugh',
      baseImage: undefined,
      healthDeadlineMs: 120_000,
      verifyMs: 30_000,
      keepImages: 5,
      keepBackups: 7,
      backup: 'pg_dump',
    });
    expect(createConfig(production).deploy.containerName).toBe('lugh-prod-app');
    // On Swarm it names the app's service as the stack deploy names it (deploy/swarm/*.yml).
    expect(createConfig({ ...staging, DEPLOY_RUNTIME: 'swarm' }).deploy.containerName).toBe(
      'lugh-staging_staging-app',
    );
    expect(createConfig({ ...production, DEPLOY_RUNTIME: 'swarm' }).deploy.containerName).toBe(
      'lugh-prod_prod-app',
    );
    expect(
      createConfig({ ...production, DEPLOY_BACKUP: 'off', LUGH_ROLE: 'runner', DEPLOY_VERIFY_SECONDS: '5' })
        .deploy,
    ).toMatchObject({ backup: 'off', role: 'runner', verifyMs: 5_000 });
    const problems = problemsOf({
      ...staging,
      DEPLOY_CONTAINER: 'bad name!',
      DEPLOY_IMAGE_REPOSITORY: 'Upper/Case',
      DEPLOY_HEALTH_SECONDS: '0',
      DEPLOY_KEEP_IMAGES: 'all',
      DEPLOY_BACKUP: 'tar',
      LUGH_ROLE: 'worker',
    });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'DEPLOY_BACKUP',
      'DEPLOY_CONTAINER',
      'DEPLOY_HEALTH_SECONDS',
      'DEPLOY_IMAGE_REPOSITORY',
      'DEPLOY_KEEP_IMAGES',
      'LUGH_ROLE',
    ]);
    expect(problems.find((p) => p.variable === 'DEPLOY_BACKUP')?.message).toBe('must be pg_dump or off');
  });

  it('take the registry’s login whole, and only with a registry', () => {
    const registry = { DEPLOY_REGISTRY: '127.0.0.1:5000' };
    expect(
      createConfig({
        ...staging,
        ...registry,
        DEPLOY_REGISTRY_USERNAME: 'ci',
        DEPLOY_REGISTRY_PASSWORD: 'pw-s3cret',
      }).deploy,
    ).toMatchObject({ registry: '127.0.0.1:5000', registryUsername: 'ci', registryPassword: 'pw-s3cret' });
    expect(problemsOf({ ...staging, ...registry, DEPLOY_REGISTRY_USERNAME: 'ci' })).toEqual([
      { variable: 'DEPLOY_REGISTRY_PASSWORD', message: 'is required with DEPLOY_REGISTRY_USERNAME.' },
    ]);
    const noUser = problemsOf({ ...staging, ...registry, DEPLOY_REGISTRY_PASSWORD: 'pw-s3cret' });
    expect(noUser).toEqual([
      { variable: 'DEPLOY_REGISTRY_USERNAME', message: 'is required with DEPLOY_REGISTRY_PASSWORD.' },
    ]);
    expect(JSON.stringify(noUser)).not.toContain('pw-s3cret');
    expect(
      problemsOf({ ...staging, DEPLOY_REGISTRY_USERNAME: 'ci', DEPLOY_REGISTRY_PASSWORD: 'pw' }).map(
        (p) => p.variable,
      ),
    ).toEqual(['DEPLOY_REGISTRY']);
  });
});
