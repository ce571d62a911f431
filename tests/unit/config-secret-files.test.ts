// `<X>_FILE` for every secret lugh reads (Docker secrets on Swarm mount at /run/secrets/…):
// the value comes from the file, one trailing newline trimmed; X and X_FILE both set, or a
// file that cannot be read, is a problem naming the variables and the path, never the
// content; `lugh config` says where the value came from; the content is redacted as the
// value would be.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConfig, describeConfig, secretsOf, secretsOfEnv } from '../../src/config/index.js';
import { generatePromoteKeys } from '../../src/config/promote-keys.js';
import { FILE_SECRETS, fileVariableOf } from '../../src/config/secret-files.js';
import { SETTING_LIST } from '../../src/config/settings.js';
import { problemsOf } from '../helpers/config-problems.js';

const TOKEN = '1234567:AAH-fake_token_for_tests_only_0123456789';
const SIGNING_KEY = generatePromoteKeys().signingKey;
const REFRESH_KEY = generatePromoteKeys().signingKey;
const everySecret: Record<string, string> = {
  TELEGRAM_BOT_TOKEN: TOKEN,
  DATABASE_URL: 'postgres://lugh_staging:db%2Fpw-s3cret@db:5432/staging_lugh',
  REDIS_URL: 'redis://:redis-s3cret@redis:6379',
  GITHUB_TOKEN: 'ghs_fakeGithubTokenForTests',
  GITHUB_WEBHOOK_SECRET: 'whsec-0123456789abcdef',
  TELEGRAM_WEBHOOK_SECRET: 'tg-webhook-s3cret',
  PROMOTE_SIGNING_KEY: SIGNING_KEY,
  DEPLOY_REGISTRY_PASSWORD: 'registry-s3cret',
  PREVIEW_DATABASE_ADMIN_URL: 'postgres://lugh_previews:preview-admin-s3cret@db:5432/postgres',
  PREVIEW_REDIS_URL: 'redis://:preview-redis-s3cret@redis:6379',
  REFRESH_SIGNING_KEY: REFRESH_KEY,
  REFRESH_HASH_KEY: 'refresh-hash-s3cret-0123456789',
  METRICS_TOKEN: 'metrics-bearer-s3cret-0123',
};
const plain = {
  APP_ENV: 'staging',
  ADMIN_IDS: '111',
  TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/webhooks/telegram',
};

const dir = mkdtempSync(path.join(tmpdir(), 'lugh-secret-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = (name: string, content: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};

describe('<X>_FILE', () => {
  it('is offered for every setting marked secret, derived from the settings table', () => {
    expect(FILE_SECRETS.map((s) => s.variable)).toEqual(
      SETTING_LIST.filter((s) => s.secret).map((s) => s.variable),
    );
    expect(Object.keys(everySecret).sort()).toEqual(FILE_SECRETS.map((s) => s.variable).sort());
  });

  it('reads each secret from its file (as `docker secret create` leaves it, with a newline) and gives the same configuration', () => {
    const fromEnv = createConfig({ ...plain, ...everySecret });
    const files = Object.fromEntries(
      Object.entries(everySecret).map(([variable, value]) => [
        fileVariableOf(variable),
        secretFile(variable.toLowerCase(), `${value}\n`),
      ]),
    );
    const config = createConfig({ ...plain, ...files });
    const { secretFiles, ...values } = config;
    const { secretFiles: none, ...expected } = fromEnv;
    expect(values).toEqual(expected);
    expect(none).toEqual({});
    expect(secretFiles).toEqual(
      Object.fromEntries(Object.keys(everySecret).map((v) => [v, files[fileVariableOf(v)]])),
    );

    // `lugh config`: redacted as ever, and saying which file each came from.
    const printed = describeConfig(config);
    expect(printed.TELEGRAM_BOT_TOKEN).toBe(
      `[redacted] (bot id 1234567) (from TELEGRAM_BOT_TOKEN_FILE=${files.TELEGRAM_BOT_TOKEN_FILE})`,
    );
    expect(printed.GITHUB_TOKEN).toBe(`[redacted] (from GITHUB_TOKEN_FILE=${files.GITHUB_TOKEN_FILE})`);
    expect(printed.ADMIN_IDS).toBe('111');
    // The contents are secrets for redaction, as the values were, and never printed.
    expect(secretsOf(config).sort()).toEqual(secretsOf(fromEnv).sort());
    for (const secret of secretsOf(config)) expect(JSON.stringify(printed)).not.toContain(secret);
    // Read from the raw environment too (an error before the configuration parses).
    expect(secretsOfEnv({ ...plain, ...files })).toEqual(expect.arrayContaining(secretsOf(fromEnv)));
  });

  it('trims exactly one trailing newline', () => {
    const twice = secretFile('twice', 'whsec-0123456789abcdef\n\n');
    const crlf = secretFile('crlf', 'ghs_crlfToken\r\n');
    const config = createConfig({
      ...plain,
      ...everySecret,
      GITHUB_WEBHOOK_SECRET: undefined,
      GITHUB_WEBHOOK_SECRET_FILE: twice,
      GITHUB_TOKEN: '',
      GITHUB_TOKEN_FILE: crlf,
    });
    expect(config.github.webhookSecret).toBe('whsec-0123456789abcdef\n');
    expect(config.github.token).toBe('ghs_crlfToken');
  });

  it('refuses X and X_FILE both set, naming both and neither value nor content', () => {
    const file = secretFile('token-both', `${TOKEN}\n`);
    const problems = problemsOf({ ...plain, ...everySecret, TELEGRAM_BOT_TOKEN_FILE: file });
    expect(problems).toEqual([
      {
        variable: 'TELEGRAM_BOT_TOKEN',
        message: expect.stringContaining('TELEGRAM_BOT_TOKEN_FILE are both set'),
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain(TOKEN.split(':')[1]);
  });

  it('takes the file over a blank or placeholder X (the committed env file’s), even a URL with a placeholder password', () => {
    const url = secretFile('db-url', `${everySecret.DATABASE_URL}\n`);
    const token = secretFile('token-only', TOKEN);
    const config = createConfig({
      ...plain,
      ...everySecret,
      DATABASE_URL: 'postgres://lugh_staging:__SET_IN_.env.staging.local__@lugh-postgres:5432/staging_lugh',
      DATABASE_URL_FILE: url,
      TELEGRAM_BOT_TOKEN: '__SET_IN_.env.staging.local__',
      TELEGRAM_BOT_TOKEN_FILE: token,
    });
    expect(config.databaseUrl).toBe(everySecret.DATABASE_URL);
    expect(config.telegram.token).toBe(TOKEN);
  });

  it('names the variable and the path of a file that cannot be read, and nothing else about it', () => {
    const missing = path.join(dir, 'no-such-secret');
    const folder = path.join(dir, 'a-directory');
    mkdirSync(folder);
    const problems = problemsOf({
      ...plain,
      ...everySecret,
      TELEGRAM_BOT_TOKEN: undefined,
      TELEGRAM_BOT_TOKEN_FILE: missing,
      REDIS_URL: undefined,
      REDIS_URL_FILE: folder,
    });
    expect(problems).toEqual([
      {
        variable: 'TELEGRAM_BOT_TOKEN_FILE',
        message: expect.stringMatching(new RegExp(`^names ${missing}, which cannot be read \\(ENOENT\\)`)),
      },
      {
        variable: 'REDIS_URL_FILE',
        message: expect.stringMatching(new RegExp(`^names ${folder}, which cannot be read \\(EISDIR\\)`)),
      },
    ]);
  });

  it('runs the other checks on a value from a file: a production database named in staging’s file is refused', () => {
    const file = secretFile('wrong-db', 'postgres://lugh_prod:pw-s3cret@db:5432/prod_lugh\n');
    const problems = problemsOf({
      ...plain,
      ...everySecret,
      DATABASE_URL: undefined,
      DATABASE_URL_FILE: file,
    });
    expect(problems.map((p) => p.variable)).toContain('DATABASE_URL');
    expect(JSON.stringify(problems)).not.toContain('pw-s3cret');
  });
});
