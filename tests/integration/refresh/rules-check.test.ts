// The rules held against production's database before anyone asks for a refresh: the
// doctor's anonymise-rules check (the file at production's running commit, its schema read
// from information_schema only) and `lugh config --anonymise-rules`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesThrough } from '../../../src/app/doctor.js';
import { anonymiseRulesCheck, type RulesSource } from '../../../src/doctor/checks/anonymise-rules.js';
import type { EnvironmentFacts } from '../../../src/doctor/facts.js';
import type { Forge } from '../../../src/forge/forge.js';
import { checkRules } from '../../../src/refresh/rules-check.js';
import { FAKE_TOKEN, runLugh } from '../../helpers/lugh-process.js';
import { createTestDatabase, createTestRole, type TestDatabase } from '../../helpers/services.js';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const RULES = 'tables:\n  customers:\n    id: keep\n    email: fake:email\n  sessions: drop\n';
let db: TestDatabase;
const dir = mkdtempSync(path.join(tmpdir(), 'lugh-rules-'));

beforeAll(async () => {
  db = await createTestDatabase('prod_lugh');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    `create table customers (id int primary key, email text not null);
     create table sessions (id int, customer_id int references customers(id));
     insert into customers values (1, 'ada@lovelace.example.com')`,
  );
  await client.end();
});

afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const production = (settings: Record<string, string>): EnvironmentFacts => ({
  env: 'production',
  containerName: 'lugh-prod-app',
  settings: { APP_ENV: 'production', DATABASE_URL: db.url, ...settings },
  settingsFrom: 'lugh-prod-app',
  container: { Config: { Labels: { 'lugh.sha': SHA }, Env: [] } } as unknown as Docker.ContainerInspectInfo,
});
const staging: EnvironmentFacts = { env: 'staging', containerName: 'lugh-staging-app', settings: {} };
const ON = { FEATURE_STAGING_REFRESH: 'true' };

/** A source that serves `text` and records the commit it was asked for. */
function source(text: string | undefined): RulesSource & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return Object.assign(
    async (sha: string | undefined) => {
      asked.push(sha);
      return { text, from: `lugh.anonymise.yml at ${sha?.slice(0, 7)}` };
    },
    { asked },
  );
}

describe('the doctor’s anonymise-rules check', () => {
  it('passes without reading anything while staging_refresh is off in production', async () => {
    const read = source(undefined);
    const verdict = await anonymiseRulesCheck(read).run(staging, production({}));
    expect(verdict).toMatchObject({
      ok: true,
      evidence: expect.stringMatching(/staging_refresh is off in production/),
    });
    expect(read.asked).toEqual([]);
  });

  it('reads the file at the commit production runs and passes when it names every table and column', async () => {
    const read = source(RULES);
    const verdict = await anonymiseRulesCheck(read).run(staging, production(ON));
    expect(read.asked).toEqual([SHA]);
    expect(verdict).toEqual({
      ok: true,
      evidence: 'lugh.anonymise.yml at abc1234 names every one of the 2 tables and their columns',
    });
  });

  it('fails naming a new column before anyone asks for a refresh, and a file the commit lacks', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('alter table customers add column phone text');
    try {
      const verdict = await anonymiseRulesCheck(source(RULES)).run(staging, production(ON));
      expect(verdict.ok).toBe(false);
      expect(verdict.evidence).toMatch(
        /unmentioned \(a refresh would be refused\): public\.customers\.phone/,
      );
      expect(verdict.fix).toMatch(/give every table and column a rule/);
    } finally {
      await client.query('alter table customers drop column phone');
      await client.end();
    }
    const missing = await anonymiseRulesCheck(source(undefined)).run(staging, production(ON));
    expect(missing).toMatchObject({
      ok: false,
      evidence: 'lugh.anonymise.yml at abc1234 has no lugh.anonymise.yml: /refresh staging would refuse',
    });
  });

  it('on Swarm, skips saying why when production’s DATABASE_URL is in a secret the audit cannot read', async () => {
    const read = source(RULES);
    const swarm: EnvironmentFacts = {
      env: 'production',
      containerName: 'lugh-prod_prod-app',
      runtime: 'swarm',
      settings: { APP_ENV: 'production', ...ON },
      settingsFrom: 'lugh-prod_prod-app',
    };
    const verdict = await anonymiseRulesCheck(read).run(staging, swarm);
    expect(verdict).toMatchObject({
      ok: true,
      skipped: true,
      evidence: expect.stringMatching(/DATABASE_URL is in a Docker secret/),
    });
    expect(read.asked).toEqual([]);
  });

  it('fails with the file’s own message for a bad rule, and for a null on a NOT NULL column', async () => {
    const bad = await anonymiseRulesCheck(source(RULES.replace('fake:email', 'fake:mail'))).run(
      staging,
      production(ON),
    );
    expect(bad.ok).toBe(false);
    expect(bad.evidence).toMatch(
      /line 4: customers\.email: `fake:mail` is not a rule; write one of keep, null/,
    );
    const nulled = await anonymiseRulesCheck(source(RULES.replace('fake:email', '"null"'))).run(
      staging,
      production(ON),
    );
    expect(nulled.evidence).toMatch(/public\.customers\.email is NOT NULL, so its rule cannot be `null`/);
  });

  it('fails naming a rewrite rule on a table the rules rewrite, and forced row-level security', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `create table email_log (old_email text);
       create rule keep_old as on update to customers do also insert into email_log values (old.email);
       alter table customers enable row level security, force row level security;`,
    );
    try {
      const verdict = await anonymiseRulesCheck(source(`${RULES}  email_log:\n    old_email: keep\n`)).run(
        staging,
        production(ON),
      );
      expect(verdict.ok).toBe(false);
      expect(verdict.evidence).toMatch(
        /public\.customers has the rewrite rule keep_old \(ON UPDATE\).*DROP RULE keep_old ON public\.customers/,
      );
      // The database's role here is a superuser, which no policy holds: forced security is no hazard for it.
      expect(verdict.evidence).not.toMatch(/row-level security/);
    } finally {
      await client.query(
        'drop rule keep_old on customers; drop table email_log; alter table customers disable row level security, no force row level security',
      );
      await client.end();
    }
  });

  it('fails naming a rewritten table whose policies are forced on its owner, for a role not exempt from them', async () => {
    const role = await createTestRole('rls-doctor');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `grant select on all tables in schema public to ${role.name};
       alter table customers enable row level security, force row level security;`,
    );
    try {
      const asRole = role.url(new URL(db.url).pathname.slice(1));
      const forced = await checkRules(RULES, asRole, 'lugh.anonymise.yml');
      expect(forced.ok).toBe(false);
      expect(forced.evidence).toMatch(
        /public\.customers has row-level security forced on its owner .*ALTER TABLE public\.customers NO FORCE ROW LEVEL SECURITY/,
      );
      // Not forced: the copy is restored as the role, which owns it and so passes its policies.
      await client.query('alter table customers no force row level security');
      expect((await checkRules(RULES, asRole, 'lugh.anonymise.yml')).ok).toBe(true);
    } finally {
      await client.query(
        `alter table customers disable row level security, no force row level security;
         revoke all on all tables in schema public from ${role.name}`,
      );
      await client.end();
      await role.drop();
    }
  });
});

describe('the rules’ source through the forge (/doctor)', () => {
  it('reads lugh.anonymise.yml at production’s commit, or at main’s head when that is unknown, saying so', async () => {
    const asked: string[] = [];
    const forge = {
      branchSha: async (branch: string) => (branch === 'main' ? 'f00dfeed'.repeat(5) : 'x'),
      repoFile: async (sha: string, file: string) => {
        asked.push(`${file}@${sha}`);
        return RULES;
      },
    } as unknown as Forge;
    expect(await rulesThrough(forge)(SHA)).toEqual({ text: RULES, from: 'lugh.anonymise.yml at abc1234' });
    expect(await rulesThrough(forge)(undefined)).toEqual({
      text: RULES,
      from: "lugh.anonymise.yml at f00dfee (main's head: production's commit is unknown)",
    });
    expect(asked).toEqual([`lugh.anonymise.yml@${SHA}`, `lugh.anonymise.yml@${'f00dfeed'.repeat(5)}`]);
  });
});

describe('lugh config --anonymise-rules', () => {
  const env = () => ({ TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ADMIN_IDS: '12345', DATABASE_URL: db.url });

  it('says the file names every table and column of the database, and exits 0', async () => {
    const file = path.join(dir, 'good.yml');
    writeFileSync(file, RULES);
    const result = await runLugh(['--env', 'production', 'config', '--anonymise-rules', file], env());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`anonymise rules: ok — ${file} names every one of the 2 tables`);
  });

  it('exits 2 naming an unmentioned table', async () => {
    const file = path.join(dir, 'short.yml');
    writeFileSync(file, 'tables:\n  customers:\n    id: keep\n    email: hash\n');
    const result = await runLugh(['--env', 'production', 'config', '--anonymise-rules', file], env());
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(
      /anonymise rules: FAIL — .*unmentioned \(a refresh would be refused\): public\.sessions \(table\)/,
    );
    expect(result.stdout).not.toContain(`:${new URL(db.url).password}@`);
  });
});
