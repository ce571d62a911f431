// The scan after the rewrite: every text-like column of the copy (JSON and text arrays too)
// is searched for values that look personal. Only counts come back, never a value. The
// refresh refuses the handoff when one survives in a column marked `keep`.
import pg from 'pg';
import type { AnonymiseRules, ColumnRule, SurvivingValue } from './anonymise.js';
import { isScannedType, readCatalog } from './catalog.js';
import { FAKE_SHAPES, PERSONAL_PATTERNS, type PersonalKind } from './personal-patterns.js';
import { quoteIdent, quoteTable } from './table-names.js';

/** A value the scan found, with the column's rule (undefined: the rules do not mention it). */
export interface ScannedValue extends SurvivingValue {
  readonly rule?: ColumnRule;
}

/** Which kinds a column under `rule` is searched for: a hash is long hex by design, so not for tokens. */
const kindsFor = (rule: ColumnRule | undefined): PersonalKind[] =>
  rule === 'null' ? [] : rule === 'hash' ? ['email', 'phone'] : ['email', 'phone', 'token'];

/** Scans every text-like column of every table (a dropped table is empty) of the database at `databaseUrl`. */
export async function scanForPersonalValues(
  databaseUrl: string,
  rules: AnonymiseRules,
): Promise<ScannedValue[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const found: ScannedValue[] = [];
    for (const table of await readCatalog(client)) {
      const tableRule = rules.tables[table.name];
      if (tableRule === 'drop') continue;
      const probes = table.columns
        .filter((c) => isScannedType(c.type))
        .flatMap((c) =>
          kindsFor(tableRule?.[c.name]).map((kind) => ({ column: c.name, kind, rule: tableRule?.[c.name] })),
        );
      if (!probes.length) continue;
      const kinds = [...new Set(probes.map((p) => p.kind))];
      const param = (k: PersonalKind) => `$${kinds.indexOf(k) + 2}`;
      const counts = probes.map(
        (p, i) =>
          `count(*) filter (where regexp_replace(${quoteIdent(p.column)}::text, $1, '', 'g') ~ ${param(p.kind)})::int as c${i}`,
      );
      const { rows } = await client.query<Record<string, number>>(
        `select ${counts.join(', ')} from ${quoteTable(table)}`,
        [FAKE_SHAPES, ...kinds.map((k) => PERSONAL_PATTERNS[k])],
      );
      probes.forEach((p, i) => {
        const rowCount = rows[0]?.[`c${i}`] ?? 0;
        if (rowCount > 0)
          found.push({
            table: table.name,
            column: p.column,
            kind: p.kind,
            rows: rowCount,
            ...(p.rule ? { rule: p.rule } : {}),
          });
      });
    }
    return found;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The values that stop the handoff: those in a column marked `keep` (or not mentioned at all). */
export const refusingHandoff = (found: readonly ScannedValue[]) =>
  found.filter((f) => f.rule === undefined || f.rule === 'keep');

/** The scan as the refresh flow asks it: only the values that stop the handoff (in `keep` columns). */
export async function scanKept(databaseUrl: string, rules: AnonymiseRules): Promise<SurvivingValue[]> {
  return refusingHandoff(await scanForPersonalValues(databaseUrl, rules));
}
