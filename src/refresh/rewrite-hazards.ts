// What in a database would make the anonymiser's UPDATE do something other than rewrite
// every row in place, read from the catalog only (no row): rewrite rules and row-level
// security on the tables it rewrites. Each is refused before anything changes, naming the
// table and saying what to do. Triggers are not among them: the anonymiser switches them off.
import type pg from 'pg';
import type { AnonymiseRules } from './anonymise.js';
import type { Catalog } from './catalog.js';
import { sqlName, tableKey } from './table-names.js';

const EVENTS: Record<string, string> = { '2': 'UPDATE', '3': 'INSERT', '4': 'DELETE' };

/** The tables the anonymiser UPDATEs: those with a rule other than `keep` (a `drop` is a TRUNCATE, which fires no rule and no policy). */
export function rewrittenTables(rules: AnonymiseRules, catalog: Catalog): Set<string> {
  return new Set(
    catalog
      .filter((t) => {
        const rule = rules.tables[t.name];
        return rule !== undefined && rule !== 'drop' && Object.values(rule).some((r) => r !== 'keep');
      })
      .map((t) => t.name),
  );
}

/**
 * The rewrite's hazards in the database `client` is connected to. `asCopyOwner`: the role will
 * own every table of the copy (the doctor, reading production's catalog: the copy is restored
 * with --no-owner as production's role); otherwise the role's own ownership counts (the copy).
 */
export async function rewriteHazards(
  client: pg.ClientBase,
  rules: AnonymiseRules,
  catalog: Catalog,
  asCopyOwner = false,
): Promise<string[]> {
  const rewritten = rewrittenTables(rules, catalog);
  // Any rule but a SELECT rule (a view's _RETURN, the only kind Postgres still allows): a DO
  // ALSO rule can copy OLD's values into another table, an INSTEAD rule replaces the UPDATE.
  // Rules cannot be switched off and on like triggers without owning their effects, so refused.
  const { rows: rewriteRules } = await client.query<{
    schema: string;
    table: string;
    rule: string;
    ev: string;
  }>(
    `select n.nspname as schema, c.relname as table, r.rulename as rule, r.ev_type as ev
       from pg_rewrite r join pg_class c on c.oid = r.ev_class join pg_namespace n on n.oid = c.relnamespace
      where r.ev_type <> '1' order by 1, 2, 3`,
  );
  const problems = rewriteRules
    .filter((r) => rewritten.has(tableKey(r)))
    .map(
      (r) =>
        `${tableKey(r)} has the rewrite rule ${r.rule} (ON ${EVENTS[r.ev] ?? r.ev}), which would run with the anonymiser's UPDATE and can copy the original values elsewhere or replace the rewrite; drop it in production (DROP RULE ${sqlName(r.rule)} ON ${sqlName(r.schema)}.${sqlName(r.table)}), or make it a trigger, which the anonymiser switches off while it rewrites`,
    );
  // Row-level security: an UPDATE under a policy silently skips the rows the policy hides,
  // leaving their originals. Decided: no policy is switched off or worked around; the rewrite
  // goes ahead only where Postgres itself exempts the role (a superuser, BYPASSRLS, or the
  // table's owner when the table does not FORCE its policies), else the table is refused. The
  // anonymiser also runs with row_security off, so a policy missed here is an error, not a skip.
  const { rows: secured } = await client.query<{
    schema: string;
    table: string;
    forced: boolean;
    owned: boolean;
    exempt: boolean;
  }>(
    `select n.nspname as schema, c.relname as table, c.relforcerowsecurity as forced,
            pg_has_role(c.relowner, 'USAGE') as owned,
            (select rolsuper or rolbypassrls from pg_roles where rolname = current_user) as exempt
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relrowsecurity and c.relkind in ('r', 'p') order by 1, 2`,
  );
  for (const t of secured) {
    const key = tableKey(t);
    if (!rewritten.has(key) || t.exempt || (!t.forced && (t.owned || asCopyOwner))) continue;
    problems.push(
      `${key} has row-level security ${t.forced ? 'forced on its owner' : 'and the anonymiser’s role does not own it'} (its policies could hide rows from the rewrite, leaving their originals); ${t.forced ? `drop FORCE in production (ALTER TABLE ${sqlName(t.schema)}.${sqlName(t.table)} NO FORCE ROW LEVEL SECURITY) or give the role BYPASSRLS` : 'restore the copy as that role (pg_restore --no-owner), or give the role BYPASSRLS'}`,
    );
  }
  return problems;
}
