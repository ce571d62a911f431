// The configurations that cross environments in ways a name check alone misses.
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerProblem,
  databaseRolesOf,
  homeProblem,
  nested,
  realPathOf,
} from '../../src/config/ownership.js';
import { problemsOf } from '../helpers/config-problems.js';

const TOKEN = '1234567:AAH-fake_token_for_tests_only_0123456789';
const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: TOKEN,
  DATABASE_URL: 'postgres://lugh_staging:pw@db:5432/staging_lugh',
  REDIS_URL: 'redis://redis:6379',
  ADMIN_IDS: '111',
};
const production = {
  ...staging,
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://lugh_prod:pw@db:5432/prod_lugh',
};

const variables = (env: Record<string, string | undefined>) => problemsOf(env).map((p) => p.variable);

describe('configurations that cross environments', () => {
  it('DEPLOY_CONTAINER must carry its own environment’s name and not the other’s', () => {
    expect(variables({ ...staging, DEPLOY_CONTAINER: 'lugh-prod-app' })).toEqual(['DEPLOY_CONTAINER']);
    expect(variables({ ...staging, DEPLOY_CONTAINER: 'lugh-app' })).toEqual(['DEPLOY_CONTAINER']);
    expect(variables({ ...production, DEPLOY_CONTAINER: 'lugh-staging-app' })).toEqual(['DEPLOY_CONTAINER']);
    expect(variables({ ...production, DEPLOY_CONTAINER: 'ci-42-production-app' })).toEqual([]);
    expect(variables({ ...staging, DEPLOY_CONTAINER: 'lugh-staging-app' })).toEqual([]);
    expect(variables(staging)).toEqual([]);
    expect(variables(production)).toEqual([]);
    expect(containerProblem('staging', 'lugh-prod-app')).toMatch(/names production's container/);
  });

  it('the database role is every one pg could use: the URL’s user, ?user= and PGUSER', () => {
    expect(
      databaseRolesOf('postgres://a:pw@db/staging_lugh?user=b&sslmode=require', { PGUSER: 'c' }).map(
        (r) => r.role,
      ),
    ).toEqual(['a', 'b', 'c']);
    const withQuery = problemsOf({
      ...staging,
      DATABASE_URL: 'postgres://db:5432/staging_lugh?user=lugh_prod',
    });
    expect(withQuery.map((p) => p.variable)).toEqual(['DATABASE_URL']);
    expect(withQuery[0]?.message).toMatch(/\?user= parameter.*lugh_prod.*belongs to production/);
    expect(
      variables({ ...staging, DATABASE_URL: 'postgres://lugh_staging:pw@db/staging_lugh?user=lugh_prod' }),
    ).toEqual(['DATABASE_URL']);
    expect(
      variables({ ...staging, DATABASE_URL: 'postgres://db:5432/staging_lugh', PGUSER: 'lugh_prod' }),
    ).toEqual(['PGUSER']);
    expect(variables({ ...production, PGUSER: 'lugh_staging' })).toEqual(['PGUSER']);
    expect(variables({ ...staging, PGUSER: 'lugh_staging' })).toEqual([]);
  });

  it('LUGH_HOME may not be, hold or lie inside the other environment’s home, as real paths', () => {
    expect(variables({ ...staging, LUGH_HOME: '~/.lugh-prod/staging' })).toEqual(['LUGH_HOME']);
    expect(variables({ ...staging, LUGH_HOME: '~/.lugh-prod/' })).toEqual(['LUGH_HOME']);
    expect(variables({ ...staging, LUGH_HOME: path.join(homedir(), '.lugh-prod', 'x') })).toEqual([
      'LUGH_HOME',
    ]);
    expect(variables({ ...production, LUGH_HOME: '~/.lugh-staging/../.lugh-staging/p' })).toEqual([
      'LUGH_HOME',
    ]);
    // Holding the other's home: its cleanup could reach the other's backups.
    expect(variables({ ...staging, LUGH_HOME: '~' })).toEqual(['LUGH_HOME']);
    expect(variables({ ...staging, LUGH_HOME: '~/.lugh-staging' })).toEqual([]);
    expect(nested('/a/b', '/a/b/')).toBe(true);
    expect(nested('/a/bc', '/a/b')).toBe(false);
  });

  it('a symbolic link into the other environment’s home is seen through', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lugh-homes-'));
    const prodHome = path.join(root, 'p-home');
    mkdirSync(prodHome);
    const link = path.join(root, 'innocent');
    symlinkSync(prodHome, link);
    expect(realPathOf(path.join(link, 'not-yet'))).toBe(path.join(realPathOf(prodHome), 'not-yet'));
    expect(homeProblem('staging', path.join(link, 'staging'), prodHome)).toMatch(/inside production's home/);
    expect(homeProblem('staging', path.join(root, 'elsewhere'), prodHome)).toBeUndefined();
  });

  it('ADMIN_IDS may not hold GroupAnonymousBot’s, Channel_Bot’s or Telegram’s id', () => {
    for (const id of ['1087968824', '136817688', '777000']) {
      const problems = problemsOf({ ...staging, ADMIN_IDS: `111,${id}` });
      expect(problems.map((p) => p.variable)).toEqual(['ADMIN_IDS']);
      expect(problems[0]?.message).toContain(id);
    }
    expect(problemsOf({ ...staging, ADMIN_IDS: '1087968824' })[0]?.message).toMatch(/Remain anonymous/);
  });
});
