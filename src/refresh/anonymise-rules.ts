// The rules file, `lugh.anonymise.yml` at the deployed repository's root: per table, `drop`
// or a rule per column (README, "The anonymisation rules file"). Parsed and validated here,
// with messages that name the line, the table and the column, and say what is allowed.
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import type { AnonymiseRules, ColumnRule } from './anonymise.js';
import { RULES_FILE } from './rules-file.js';
import { parseTableKey, tableKey } from './table-names.js';

export const COLUMN_RULES: readonly ColumnRule[] = [
  'keep',
  'null',
  'fake:email',
  'fake:name',
  'fake:phone',
  'fake:text',
  'hash',
];

const ALLOWED = `${COLUMN_RULES.join(', ')}`;

/** The rules file is not one lugh can use; the message names every problem and what to write. */
export class RulesFileError extends Error {
  override name = 'RulesFileError';
}

const columnRule = z.string().refine((v): v is ColumnRule => (COLUMN_RULES as string[]).includes(v), {
  error: (issue) => `\`${String(issue.input)}\` is not a rule; write one of ${ALLOWED}`,
});

const tableRule = z.union([z.literal('drop'), z.record(z.string(), columnRule)], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `write \`drop\` (empty the table in the copy) or one rule per column (${ALLOWED})`
      : undefined,
});

const rulesFile = z.strictObject(
  {
    tables: z.record(z.string(), tableRule, {
      error: (issue) =>
        issue.input === undefined
          ? 'has no `tables:`; add it, with one entry per table'
          : '`tables:` must map each table to `drop` or to its columns’ rules',
    }),
  },
  { error: 'must be a map with one key, `tables:`' },
);

/** Parses the rules file's text; fails with every problem, each with its line, table and column. */
export function parseAnonymiseRules(text: string, file = RULES_FILE): AnonymiseRules {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? undefined : lines.linePos(offset).line;
  if (doc.errors.length) {
    const problems = doc.errors.map(
      (e) =>
        `line ${lineOf(e.pos[0]) ?? '?'}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
    throw new RulesFileError(`${file} is not valid YAML: ${problems.join('; ')}`);
  }
  const at = (path: readonly PropertyKey[]) => {
    // The key's line for a missing or wrong key, the value's for a wrong value.
    const node = doc.getIn(path as unknown[], true);
    const parent = doc.getIn(path.slice(0, -1) as unknown[], true);
    const key = isMap(parent)
      ? parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1))
      : undefined;
    const range = (isScalar(key?.key) ? key.key.range : undefined) ?? (node as { range?: number[] })?.range;
    const line = lineOf(range?.[0]);
    return line ? `line ${line}: ` : '';
  };
  const parsed = rulesFile.safeParse(doc.toJS());
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [, table, column] = issue.path.map(String);
      const where =
        table === undefined ? 'the file' : column === undefined ? `table ${table}` : `${table}.${column}`;
      problems.push(`${at(issue.path)}${where}: ${issue.message}`);
    }
    throw new RulesFileError(`${file} is not a rules file lugh can use: ${problems.join('; ')}`);
  }
  const tables: Record<string, AnonymiseRules['tables'][string]> = {};
  for (const [name, rule] of Object.entries(parsed.data.tables)) {
    // `schema.table` or `table` (schema public); names as Postgres spells them (lower case
    // unless created quoted); a part holding a dot, quote or space in double quotes.
    const parsedName = parseTableKey(name);
    if (!parsedName) {
      problems.push(
        `${at(['tables', name])}table ${name}: write a table as \`table\` or \`schema.table\` (a name holding a dot in double quotes: '"a.b".table')`,
      );
      continue;
    }
    const full = tableKey(parsedName);
    if (tables[full])
      problems.push(`${at(['tables', name])}table ${name}: named twice (as ${full}); keep one entry`);
    else if (rule !== 'drop' && Object.keys(rule).length === 0)
      problems.push(
        `${at(['tables', name])}table ${name}: lists no column; give each column a rule, or \`drop\``,
      );
    tables[full] = rule as AnonymiseRules['tables'][string];
  }
  if (problems.length)
    throw new RulesFileError(`${file} is not a rules file lugh can use: ${problems.join('; ')}`);
  return { tables };
}
