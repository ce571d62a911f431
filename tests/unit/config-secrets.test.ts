import { describe, expect, it } from 'vitest';
import { createConfig, describeConfig, secretsOf, secretsOfEnv } from '../../src/config/index.js';
import { generatePromoteKeys } from '../../src/config/promote-keys.js';
import { SETTING_LIST } from '../../src/config/settings.js';

const TOKEN = '1234567:AAH-fake_token_for_tests_only_0123456789';
const SIGNING_KEY = generatePromoteKeys().signingKey;
const REFRESH_KEY = generatePromoteKeys().signingKey;

const everySecretSet = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: TOKEN,
  DATABASE_URL: 'postgres://lugh_staging:db%2Fpw-s3cret@db:5432/staging_lugh',
  REDIS_URL: 'redis://:redis-s3cret@redis:6379',
  ADMIN_IDS: '111',
  GITHUB_TOKEN: 'ghs_fakeGithubTokenForTests',
  GITHUB_WEBHOOK_SECRET: 'whsec-0123456789abcdef',
  TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/webhooks/telegram',
  TELEGRAM_WEBHOOK_SECRET: 'tg-webhook-s3cret',
  PROMOTE_SIGNING_KEY: SIGNING_KEY,
  DEPLOY_REGISTRY_PASSWORD: 'registry-s3cret',
  PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_previews:preview-admin-s3cret@db:5432/postgres',
  PREVIEW_REDIS_URL: 'redis://:preview-redis-s3cret@redis:6379',
  REFRESH_SIGNING_KEY: REFRESH_KEY,
  REFRESH_HASH_KEY: 'refresh-hash-s3cret-0123456789',
  METRICS_TOKEN: 'metrics-bearer-s3cret-0123',
};

describe('secrets', () => {
  it('the test sets every secret-marked setting', () => {
    const secretVariables = SETTING_LIST.filter((s) => s.secret).map((s) => s.variable);
    expect(Object.keys(everySecretSet)).toEqual(expect.arrayContaining(secretVariables));
  });

  it('every secret-marked setting is redacted by describeConfig', () => {
    const config = createConfig(everySecretSet);
    const printed = JSON.stringify(describeConfig(config));
    const secrets = secretsOf(config);
    expect(secrets).toEqual(
      expect.arrayContaining([
        TOKEN,
        TOKEN.split(':')[1],
        'db/pw-s3cret',
        'redis-s3cret',
        'ghs_fakeGithubTokenForTests',
        'whsec-0123456789abcdef',
        'tg-webhook-s3cret',
        'registry-s3cret',
        'preview-admin-s3cret',
        'preview-redis-s3cret',
        SIGNING_KEY,
        REFRESH_KEY,
        'refresh-hash-s3cret-0123456789',
      ]),
    );
    for (const secret of secrets) {
      expect(printed).not.toContain(secret);
      expect(printed).not.toContain(encodeURIComponent(secret));
    }
  });

  it('secretsOfEnv finds the same secrets in a raw environment, even one that does not parse', () => {
    const config = createConfig(everySecretSet);
    expect(secretsOfEnv(everySecretSet)).toEqual(expect.arrayContaining(secretsOf(config)));
    const broken = { ...everySecretSet, APP_ENV: 'prod', ADMIN_IDS: '', TELEGRAM_BOT_TOKEN: ` ${TOKEN} ` };
    expect(() => createConfig(broken)).toThrow();
    expect(secretsOfEnv(broken)).toEqual(expect.arrayContaining(secretsOf(config)));
  });

  it('secretsOfEnv skips unset and blank variables, and URLs without a password', () => {
    expect(
      secretsOfEnv({ GITHUB_TOKEN: '  ', REDIS_URL: 'redis://redis:6379', DATABASE_URL: 'not a url' }),
    ).toEqual([]);
  });
});
