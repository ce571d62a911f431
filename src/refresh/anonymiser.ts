// The anonymiser: rewrites a temporary copy of production's database by the rules, in SQL,
// one transaction per table. It refuses, before changing anything, a database not named as
// a refresh copy, a table or column the rules do not mention, and a rule the database
// cannot carry out.
import pg from 'pg';
import type { Anonymise, AnonymiseReport, AnonymiseRules, ColumnRule, Unmentioned } from './anonymise.js';
import {
  type CatalogColumn,
  type CatalogTable,
  compareWithCatalog,
  describeUnmentioned,
  hiddenTables,
  readCatalog,
} from './catalog.js';
import { FAKE_EMAIL_DOMAIN, FAKE_PHONE_PREFIX } from './personal-patterns.js';
import { rewriteHazards } from './rewrite-hazards.js';
import { RULES_FILE } from './rules-file.js';
import { quoteIdent, quoteTable, type TableName } from './table-names.js';

/** Every temporary database the refresh makes is named so; the anonymiser rewrites no other. */
export const REFRESH_DATABASE_PREFIX = 'lugh_refresh_';

/** The database is not a refresh copy: the anonymiser never rewrites it. */
export class NotARefreshDatabaseError extends Error {
  override name = 'NotARefreshDatabaseError';
}

/** Tables or columns the rules do not mention: nothing was changed. */
export class UnmentionedError extends Error {
  override name = 'UnmentionedError';
  constructor(readonly unmentioned: readonly Unmentioned[]) {
    super(
      `the anonymisation rules do not mention ${describeUnmentioned(unmentioned)}; add ${unmentioned.length === 1 ? 'it' : 'each'} to ${RULES_FILE} (a rule per column, or \`drop\` for a table) — nothing was copied`,
    );
  }
}

/** Rules the database cannot carry out (a `null` on a NOT NULL column, a fake on a number …): nothing was changed. */
export class RulesMismatchError extends Error {
  override name = 'RulesMismatchError';
  constructor(readonly problems: readonly string[]) {
    super(`${RULES_FILE} does not fit the database: ${problems.join('; ')} — nothing was copied`);
  }
}

/** The database a URL names, refused unless it is a refresh copy. */
export function refreshDatabaseOf(databaseUrl: string): string {
  let name: string;
  try {
    name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  } catch {
    throw new NotARefreshDatabaseError('the database URL given to the anonymiser is not a URL');
  }
  if (!name.startsWith(REFRESH_DATABASE_PREFIX))
    throw new NotARefreshDatabaseError(
      `refusing to anonymise database ${name || '(none)'}: only a temporary refresh copy (named ${REFRESH_DATABASE_PREFIX}…) is ever rewritten`,
    );
  return name;
}

// The hash: sha256(key ‖ sha256(key ‖ value)), built from Postgres' own sha256 (no extension
// is added to the copy, whose schema staging restores). Stable for one key, so joins on
// hashed columns still match; the nesting keeps it from being extended as a bare prefix hash is.
const HASH = (value: string) =>
  `encode(sha256(convert_to($1 || encode(sha256(convert_to($1 || ${value}::text, 'UTF8')), 'hex'), 'UTF8')), 'hex')`;

/** What `rule` makes of column `c`; `n` is the row's number (unique in the table), `$1` the hash key. */
export function ruleExpression(c: CatalogColumn, rule: Exclude<ColumnRule, 'keep'>): string {
  const col = `x.${quoteIdent(c.name)}`;
  if (rule === 'null') return 'NULL';
  const made = {
    hash: HASH(col),
    'fake:email': `'user-' || r.n || '@${FAKE_EMAIL_DOMAIN}'`,
    'fake:name': `'Person ' || r.n`,
    'fake:phone': `'${FAKE_PHONE_PREFIX}' || lpad(r.n::text, 7, '0')`,
    'fake:text': `'Text ' || r.n`,
  }[rule];
  const fitted =
    rule === 'hash' && c.type === 'uuid'
      ? `left(${made}, 32)::uuid`
      : c.maxLength
        ? `left(${made}, ${c.maxLength})`
        : made;
  return `CASE WHEN ${col} IS NULL THEN NULL ELSE ${fitted} END`;
}

/** One table's rewrite: every row numbered in its key's order (ctid without one), each non-kept column set. */
export function rewriteStatement(
  table: CatalogTable,
  rules: Readonly<Record<string, ColumnRule>>,
): string | undefined {
  const sets = table.columns
    .filter((c) => rules[c.name] !== undefined && rules[c.name] !== 'keep')
    .map((c) => `${quoteIdent(c.name)} = ${ruleExpression(c, rules[c.name] as Exclude<ColumnRule, 'keep'>)}`);
  if (!sets.length) return undefined;
  const order = table.primaryKey.length ? table.primaryKey.map(quoteIdent).join(', ') : 'ctid';
  const name = quoteTable(table);
  return `UPDATE ${name} AS x SET ${sets.join(', ')} FROM (SELECT ctid AS rid, row_number() OVER (ORDER BY ${order}) AS n FROM ${name}) AS r WHERE x.ctid = r.rid`;
}

/**
 * The copy's own triggers that would fire on the rewrite (an audit trigger would copy each
 * original value into another table): switched off around it, back as they were in the same transaction.
 */
async function firingTriggers(client: pg.Client, table: TableName) {
  const { rows } = await client.query<{ tgname: string; tgenabled: string }>(
    `select tgname, tgenabled from pg_trigger where tgrelid = $1::regclass and not tgisinternal and tgenabled in ('O', 'A')`,
    [quoteTable(table)],
  );
  return rows.map((r) => ({ name: r.tgname, always: r.tgenabled === 'A' }));
}

/** The anonymiser the refresh flow calls (`Anonymise`). */
export function createAnonymiser(): Anonymise {
  return async (databaseUrl, rules, hashKey) => {
    const expected = refreshDatabaseOf(databaseUrl);
    if (!hashKey) throw new Error('the anonymiser needs a hash key: give it the refresh’s own secret');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string }>('select current_database() as db');
      if (rows[0]?.db !== expected) refreshDatabaseOf(`postgres://x/${rows[0]?.db ?? ''}`);
      // A policy rewriteHazards did not foresee makes the UPDATE fail instead of skipping rows.
      await client.query('SET row_security = off');
      return await rewrite(client, rules, hashKey);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

async function rewrite(client: pg.Client, rules: AnonymiseRules, hashKey: string): Promise<AnonymiseReport> {
  const catalog = await readCatalog(client);
  const compared = compareWithCatalog(rules, catalog);
  const { unmentioned } = compared;
  const problems = [...compared.problems];
  const hidden = await hiddenTables(client, catalog);
  if (hidden.length)
    problems.push(
      `${hidden.join(', ')} cannot be seen by the role the anonymiser connects as; restore the copy as that role (pg_restore --no-owner)`,
    );
  if (unmentioned.length) throw new UnmentionedError(unmentioned);
  problems.push(...(await rewriteHazards(client, rules, catalog)));
  const { rows: lo } = await client.query<{ n: number }>(
    'select count(*)::int as n from pg_largeobject_metadata',
  );
  const objects = lo[0]?.n ?? 0;
  if (objects)
    problems.push(
      `the database holds ${objects} large object${objects === 1 ? '' : 's'}, which no rule can describe; move them into a table`,
    );
  if (problems.length) throw new RulesMismatchError(problems);

  const dropped = catalog.filter((t) => rules.tables[t.name] === 'drop');
  let rowsRewritten = 0;
  for (const table of catalog) {
    const rule = rules.tables[table.name];
    if (rule === undefined || rule === 'drop') continue;
    const sql = rewriteStatement(table, rule);
    if (!sql) continue;
    await client.query('BEGIN');
    try {
      const triggers = await firingTriggers(client, table);
      for (const t of triggers)
        await client.query(`ALTER TABLE ${quoteTable(table)} DISABLE TRIGGER ${quoteIdent(t.name)}`);
      const result = await client.query(sql, sql.includes('$1') ? [hashKey] : []);
      for (const t of triggers)
        await client.query(
          `ALTER TABLE ${quoteTable(table)} ENABLE ${t.always ? 'ALWAYS ' : ''}TRIGGER ${quoteIdent(t.name)}`,
        );
      await client.query('COMMIT');
      rowsRewritten += result.rowCount ?? 0;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`could not rewrite ${table.name}: ${(error as Error).message}`);
    }
  }
  // The dropped tables together: one may refer to another (compareWithCatalog refused a kept referrer).
  if (dropped.length) await client.query(`TRUNCATE ${dropped.map(quoteTable).join(', ')}`);
  // A materialized view holds copies of the old rows: computed again from the rewritten ones.
  const { rows: views } = await client.query<{ schemaname: string; matviewname: string }>(
    'select schemaname, matviewname from pg_matviews where ispopulated',
  );
  for (const v of views)
    await client.query(
      `REFRESH MATERIALIZED VIEW ${quoteTable({ schema: v.schemaname, table: v.matviewname })}`,
    );
  return { tables: catalog.length, rowsRewritten, droppedTables: dropped.map((t) => t.name) };
}
