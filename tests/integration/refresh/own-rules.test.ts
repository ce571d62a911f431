// lugh's own lugh.anonymise.yml (lugh deploys itself, so /refresh staging copies lugh's own
// database): it names every table and column the migrations make, each with a rule its
// column can take, and the anonymiser carries it out on a migrated copy.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { parseAnonymiseRules } from '../../../src/refresh/anonymise-rules.js';
import { createAnonymiser, REFRESH_DATABASE_PREFIX } from '../../../src/refresh/anonymiser.js';
import { compareWithCatalog, readCatalog } from '../../../src/refresh/catalog.js';
import { scanKept } from '../../../src/refresh/scan.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { REPO_ROOT } from '../../helpers/lugh-process.js';
import { adminDatabaseUrl, withAdmin, withDatabase } from '../../helpers/services.js';

describe("lugh's own lugh.anonymise.yml", () => {
  it('names every table and column of the migrated database, and the anonymiser carries it out', async () => {
    const rules = parseAnonymiseRules(readFileSync(path.join(REPO_ROOT, 'lugh.anonymise.yml'), 'utf8'));
    const name = `${REFRESH_DATABASE_PREFIX}own_${randomBytes(4).toString('hex')}`;
    await withAdmin((c) => c.query(`create database "${name}"`));
    const url = withDatabase(adminDatabaseUrl(), name);
    try {
      await runMigrations({ databaseUrl: url, logger: createLogger({ level: 'silent', secrets: [] }) });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const catalog = await readCatalog(client).finally(() => client.end());
      const { unmentioned, problems } = compareWithCatalog(rules, catalog);
      expect({ unmentioned, problems }).toEqual({ unmentioned: [], problems: [] });
      // A production deploy as lugh records it: the scan then finds nothing to stop the handoff.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(
        `insert into deployments (env, ref, sha, trigger, requested_by, requested_by_name, chat_id, status, error, image_id, tree_sha)
         values ('production', 'main', repeat('a', 40), 'promotion', 4242, 'Ada Lovelace', -100123, 'failed',
                 'mail ada@lovelace.example.com failed', 'sha256:' || repeat('0f', 32), repeat('b', 40))`,
      );
      await c.end();
      const report = await createAnonymiser()(url, rules, 'own-rules-key');
      expect(report.droppedTables).toContain('public.locks');
      expect(await scanKept(url, rules)).toEqual([]);
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const { rows } = await check.query(
        'select requested_by, requested_by_name, chat_id, error from deployments',
      );
      await check.end();
      expect(rows).toEqual([
        { requested_by: null, requested_by_name: 'Person 1', chat_id: null, error: null },
      ]);
    } finally {
      await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
    }
  });
});
