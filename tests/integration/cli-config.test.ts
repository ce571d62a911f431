import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAKE_TOKEN, runLugh } from '../helpers/lugh-process.js';

describe('lugh config', () => {
  it('prints the effective configuration of .env.staging with every secret redacted, and exits 0', async () => {
    const result = await runLugh(['--env', 'staging', 'config'], {
      TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
      ADMIN_IDS: '12345',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('APP_ENV=staging');
    expect(result.stdout).toContain('REDIS_PREFIX=staging');
    expect(result.stdout).toContain('PORT=3001');
    expect(result.stdout).toContain(`TELEGRAM_BOT_TOKEN=[redacted] (bot id ${FAKE_TOKEN.split(':')[0]})`);
    expect(result.stdout).toMatch(/^flag promote: on/m);
    expect(result.stdout + result.stderr).not.toContain(FAKE_TOKEN.split(':')[1]);
  });

  it('exits 2 and names DATABASE_URL when production points at the staging database', async () => {
    const result = await runLugh(['--env', 'production', 'config'], {
      TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
      ADMIN_IDS: '12345',
      DATABASE_URL: 'postgres://lugh_prod:pw@localhost:5432/staging_lugh',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/✗ DATABASE_URL names database "staging_lugh", which belongs to staging/);
    expect(result.stdout).toBe('');
  });

  describe('exits 2 and names the variable of a configuration that crosses environments', () => {
    const base = { TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ADMIN_IDS: '12345' };
    const cases: Array<{ what: string; env: Record<string, string>; variable: string; says: RegExp }> = [
      {
        what: "staging replacing production's container",
        env: { DEPLOY_CONTAINER: 'lugh-prod-app' },
        variable: 'DEPLOY_CONTAINER',
        says: /names production's container/,
      },
      {
        what: 'a ?user= of production in the URL',
        env: { DATABASE_URL: 'postgres://localhost:5432/staging_lugh?user=lugh_prod' },
        variable: 'DATABASE_URL',
        says: /\?user= parameter.*"lugh_prod"/,
      },
      {
        what: "PGUSER naming production's role",
        env: { DATABASE_URL: 'postgres://localhost:5432/staging_lugh', PGUSER: 'lugh_prod' },
        variable: 'PGUSER',
        says: /"lugh_prod", which belongs to production/,
      },
      {
        what: "a home inside production's",
        env: { LUGH_HOME: '~/.lugh-prod/staging' },
        variable: 'LUGH_HOME',
        says: /lies inside production's home/,
      },
      {
        what: "GroupAnonymousBot's id among the admins",
        env: { ADMIN_IDS: '12345,1087968824' },
        variable: 'ADMIN_IDS',
        says: /GroupAnonymousBot/,
      },
      {
        what: "Channel_Bot's id among the admins",
        env: { ADMIN_IDS: '136817688' },
        variable: 'ADMIN_IDS',
        says: /Channel_Bot/,
      },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const result = await runLugh(['--env', 'staging', 'config'], { ...base, ...c.env });
        expect(result.code, result.stdout).toBe(2);
        const line = result.stderr.split('\n').find((l) => l.includes(`✗ ${c.variable} `));
        expect(line, result.stderr).toMatch(c.says);
        expect(result.stdout).toBe('');
      });
    }
  });

  it('lists every problem of the committed file alone: its placeholders must be replaced', async () => {
    const result = await runLugh(['--env', 'production', 'config'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/✗ TELEGRAM_BOT_TOKEN is a placeholder/);
    expect(result.stderr).toMatch(/✗ ADMIN_IDS is a placeholder/);
  });

  it('reads secrets from *_FILE (Docker secrets) over the committed placeholders, and says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-cli-secrets-'));
    const tokenFile = path.join(dir, 'telegram-bot-token');
    const dbFile = path.join(dir, 'database-url');
    writeFileSync(tokenFile, `${FAKE_TOKEN}\n`);
    writeFileSync(dbFile, 'postgres://lugh_staging:file-db-s3cret@lugh-postgres:5432/staging_lugh\n');
    try {
      const result = await runLugh(['--env', 'staging', 'config'], {
        TELEGRAM_BOT_TOKEN_FILE: tokenFile,
        DATABASE_URL_FILE: dbFile,
        ADMIN_IDS: '12345',
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(
        `TELEGRAM_BOT_TOKEN=[redacted] (bot id ${FAKE_TOKEN.split(':')[0]}) (from TELEGRAM_BOT_TOKEN_FILE=${tokenFile})`,
      );
      expect(result.stdout).toMatch(
        /^DATABASE_URL=postgres:\/\/lugh_staging:.*@lugh-postgres.* \(from DATABASE_URL_FILE=/m,
      );
      expect(result.stdout + result.stderr).not.toContain(FAKE_TOKEN.split(':')[1]);
      expect(result.stdout + result.stderr).not.toContain('file-db-s3cret');

      const unreadable = await runLugh(['--env', 'staging', 'config'], {
        TELEGRAM_BOT_TOKEN_FILE: path.join(dir, 'missing'),
        ADMIN_IDS: '12345',
      });
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain(
        `✗ TELEGRAM_BOT_TOKEN_FILE names ${path.join(dir, 'missing')}, which cannot be read`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses preview settings that lead to production, by value with production’s env file in --dir, never printing it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-cli-previews-'));
    const prodPassword = 'prod-db-s3cret-for-previews';
    writeFileSync(
      path.join(dir, '.env.prod'),
      'APP_ENV=production\nCOMPOSE_PROJECT_NAME=lugh-prod\nDATABASE_URL=postgres://lugh_prod:__SET_IN_.env.prod.local__@lugh-postgres:5432/prod_lugh\n',
    );
    writeFileSync(
      path.join(dir, '.env.prod.local'),
      `DATABASE_URL=postgres://lugh_prod:${prodPassword}@lugh-postgres:5432/prod_lugh\n`,
    );
    try {
      const base = { TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ADMIN_IDS: '12345' };
      const result = await runLugh(['--env', 'staging', 'config', '--dir', dir], {
        ...base,
        PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/',
        PREVIEW_DATABASE_ADMIN_URL: `postgres://postgres:${prodPassword}@lugh-postgres:5432/postgres`,
        PREVIEW_DATA_NETWORK: 'lugh-prod_edge',
        PREVIEW_REDIS_URL: 'redis://lugh-redis:6379',
      });
      expect(result.code, result.stdout).toBe(2);
      expect(result.stderr).toContain(
        `✗ PREVIEW_DATABASE_ADMIN_URL uses the password of production's DATABASE_URL (${path.join(dir, '.env.prod')}).`,
      );
      expect(result.stderr).toContain('✗ PREVIEW_DATA_NETWORK is "lugh-prod_edge", ');
      expect(result.stderr).toContain(
        'Set it to staging’s data network, lugh-staging-data, or leave it unset.',
      );
      expect(result.stderr).toContain('✗ PREVIEW_REDIS_URL has no password: ');
      expect(result.stdout + result.stderr).not.toContain(prodPassword);

      const fine = await runLugh(['--env', 'staging', 'config', '--dir', dir], {
        ...base,
        PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/',
        PREVIEW_DATA_NETWORK: 'lugh-staging-data',
      });
      expect(fine.code, fine.stderr).toBe(0);
      expect(fine.stdout).toContain('flag previews: on (default: PREVIEW_URL_TEMPLATE is set)');
      const off = await runLugh(['--env', 'staging', 'config'], { ...base, FEATURE_PREVIEWS: 'true' });
      expect(off.code).toBe(2);
      expect(off.stderr).toMatch(/✗ PREVIEW_URL_TEMPLATE is required while previews are on/);
      const prod = await runLugh(['--env', 'production', 'config'], { ...base, FEATURE_PREVIEWS: 'true' });
      expect(prod.code).toBe(2);
      expect(prod.stderr).toMatch(/✗ FEATURE_PREVIEWS is on, but only staging runs previews/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a missing env file and an unknown command', async () => {
    const missing = await runLugh(['--env-path', '.env.nope', 'config'], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('env file .env.nope does not exist');
    const badEnv = await runLugh(['--env', 'prod', 'config'], {});
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('--env must be staging or production');
    const unknown = await runLugh(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('usage: lugh');
  });
});
