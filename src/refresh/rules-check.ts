// The rules file held against a live database before anyone asks for a refresh (`lugh
// config --anonymise-rules`, the doctor): parsed, then compared with the database's catalog
// read from information_schema only, in a read-only transaction (no row is read).
import pg from 'pg';
import { parseAnonymiseRules, RulesFileError } from './anonymise-rules.js';
import { compareWithCatalog, describeUnmentioned, hiddenTables, readCatalog } from './catalog.js';
import { rewriteHazards } from './rewrite-hazards.js';

export interface RulesCheck {
  readonly ok: boolean;
  /** What was found, naming every unmentioned table and column and every rule that does not fit. */
  readonly evidence: string;
  readonly fix?: string;
}

/** The rules' text against the database at `databaseUrl` (its schema only). Throws only when the database cannot be reached. */
export async function checkRules(text: string, databaseUrl: string, from: string): Promise<RulesCheck> {
  let rules: ReturnType<typeof parseAnonymiseRules>;
  try {
    rules = parseAnonymiseRules(text, from);
  } catch (error) {
    if (!(error instanceof RulesFileError)) throw error;
    return {
      ok: false,
      evidence: error.message,
      fix: 'correct the file as the message says (README, "The anonymisation rules file")',
    };
  }
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  let catalog: Awaited<ReturnType<typeof readCatalog>>;
  let hidden: string[];
  let hazards: string[];
  try {
    await client.query('BEGIN READ ONLY');
    catalog = await readCatalog(client);
    hidden = await hiddenTables(client, catalog);
    // The copy is restored with --no-owner as this role, which then owns every table.
    hazards = await rewriteHazards(client, rules, catalog, true);
    await client.query('ROLLBACK');
  } finally {
    await client.end().catch(() => undefined);
  }
  if (catalog.length === 0)
    return {
      ok: false,
      evidence: `the database shows no table to its role, so ${from} could not be held against it`,
      fix: "point DATABASE_URL at production's own database with its own role (information_schema shows a role only the tables it may use)",
    };
  const { unmentioned, problems, stale } = compareWithCatalog(rules, catalog);
  const found = [
    ...(hidden.length
      ? [
          `${hidden.join(', ')} cannot be seen by the database's role, so the rules cannot be held against them`,
        ]
      : []),
    ...(unmentioned.length
      ? [`unmentioned (a refresh would be refused): ${describeUnmentioned(unmentioned)}`]
      : []),
    ...problems,
    ...hazards,
  ];
  const staleNote = stale.length ? `; naming what the database has not (skipped): ${stale.join(', ')}` : '';
  if (found.length)
    return {
      ok: false,
      evidence: `${from}: ${found.join('; ')}${staleNote}`,
      fix: `give every table and column a rule in ${from} (a rule per column, or \`drop\` for a table), and a rule that fits its column's type`,
    };
  return {
    ok: true,
    evidence: `${from} names every one of the ${catalog.length} tables and their columns${staleNote}`,
  };
}
