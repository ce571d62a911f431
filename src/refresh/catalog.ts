// A database's tables and columns as the rules must describe them, read from
// information_schema only (no data: the doctor reads production's this way), and the
// comparison of the rules with them (pure).
import type pg from 'pg';
import type { AnonymiseRules, ColumnRule, Unmentioned } from './anonymise.js';
import { type TableName, tableKey } from './table-names.js';

export interface CatalogColumn {
  readonly name: string;
  /** Postgres' name of its type (`text`, `varchar`, `int4`, `uuid`, `_text` …). */
  readonly type: string;
  readonly nullable: boolean;
  /** varchar(n)/char(n)'s n. */
  readonly maxLength?: number;
  /** Part of a primary key or UNIQUE constraint. */
  readonly unique: boolean;
  /** Part of a foreign key, on either side: its values must match another table's. */
  readonly key: boolean;
  /** A generated column (`GENERATED ALWAYS AS (…) STORED`): Postgres computes it again from the rewritten ones. */
  readonly generated?: boolean;
}

export interface CatalogTable extends TableName {
  /** `schema.table` as the rules file names it (`tableKey`). */
  readonly name: string;
  readonly columns: readonly CatalogColumn[];
  readonly primaryKey: readonly string[];
  /** The other tables with a foreign key to this one. */
  readonly referencedBy: readonly string[];
}

export type Catalog = readonly CatalogTable[];

/** Types whose values are text a fake can replace. */
const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);
/** Types the scan reads as text (JSON and text arrays too). */
const SCANNED_TYPES = new Set([...TEXT_TYPES, 'json', 'jsonb', '_text', '_varchar', '_bpchar', '_citext']);

export const isTextType = (type: string) => TEXT_TYPES.has(type);
export const isScannedType = (type: string) => SCANNED_TYPES.has(type);

const notSystem = (alias: string) =>
  `${alias}.table_schema not in ('pg_catalog', 'information_schema') and ${alias}.table_schema not like 'pg\\_%'`;

/** Every base table of every non-system schema, every column, from information_schema. */
export async function readCatalog(client: pg.ClientBase): Promise<Catalog> {
  const columns = await client.query<{
    table_schema: string;
    table_name: string;
    column_name: string;
    udt_name: string;
    is_nullable: string;
    character_maximum_length: number | null;
    is_generated: string;
  }>(
    `select c.table_schema, c.table_name, c.column_name, c.udt_name, c.is_nullable, c.character_maximum_length, c.is_generated
       from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
      where t.table_type = 'BASE TABLE' and ${notSystem('c')}
      order by c.table_schema, c.table_name, c.ordinal_position`,
  );
  const keys = await client.query<{
    table_schema: string;
    table_name: string;
    column_name: string;
    constraint_type: string;
  }>(
    `select k.table_schema, k.table_name, k.column_name, tc.constraint_type
       from information_schema.key_column_usage k
       join information_schema.table_constraints tc
         on tc.constraint_schema = k.constraint_schema and tc.constraint_name = k.constraint_name
        and tc.table_name = k.table_name
      where tc.constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') and ${notSystem('k')}
      order by k.table_schema, k.table_name, k.ordinal_position`,
  );
  const referenced = await client.query<{
    table_schema: string;
    table_name: string;
    column_name: string;
    from_schema: string;
    from_table: string;
  }>(
    `select u.table_schema, u.table_name, u.column_name, tc.table_schema as from_schema, tc.table_name as from_table
       from information_schema.constraint_column_usage u
       join information_schema.table_constraints tc
         on tc.constraint_schema = u.constraint_schema and tc.constraint_name = u.constraint_name
      where tc.constraint_type = 'FOREIGN KEY' and ${notSystem('u')}`,
  );
  const id = (r: { table_schema: string; table_name: string }) =>
    tableKey({ schema: r.table_schema, table: r.table_name });
  const flags = (r: { table_schema: string; table_name: string; column_name: string }) =>
    `${id(r)}\u0000${r.column_name}`;
  const unique = new Set(keys.rows.filter((k) => k.constraint_type !== 'FOREIGN KEY').map(flags));
  const keyed = new Set([
    ...keys.rows.filter((k) => k.constraint_type === 'FOREIGN KEY').map(flags),
    ...referenced.rows.map(flags),
  ]);
  const tables = new Map<
    string,
    TableName & { columns: CatalogColumn[]; primaryKey: string[]; referencedBy: Set<string> }
  >();
  for (const c of columns.rows) {
    const t = tables.get(id(c)) ?? {
      schema: c.table_schema,
      table: c.table_name,
      columns: [],
      primaryKey: [],
      referencedBy: new Set<string>(),
    };
    tables.set(id(c), t);
    t.columns.push({
      name: c.column_name,
      type: c.udt_name,
      nullable: c.is_nullable === 'YES',
      ...(c.character_maximum_length ? { maxLength: c.character_maximum_length } : {}),
      unique: unique.has(flags(c)),
      key: keyed.has(flags(c)),
      ...(c.is_generated === 'ALWAYS' ? { generated: true } : {}),
    });
  }
  for (const k of keys.rows)
    if (k.constraint_type === 'PRIMARY KEY') tables.get(id(k))?.primaryKey.push(k.column_name);
  for (const r of referenced.rows) {
    const from = tableKey({ schema: r.from_schema, table: r.from_table });
    if (from !== id(r)) tables.get(id(r))?.referencedBy.add(from);
  }
  // A partition's rows are its parent's: the parent's rules (and its one UPDATE) cover them.
  const partitions = new Set((await relations(client)).filter((r) => r.partition).map((r) => r.name));
  return [...tables]
    .filter(([name]) => !partitions.has(name))
    .map(([name, t]) => ({ name, ...t, referencedBy: [...t.referencedBy] }));
}

/** Every table of the non-system schemas as pg_class lists it (whatever the role may read). */
async function relations(client: pg.ClientBase) {
  const { rows } = await client.query<{ schema: string; table: string; partition: boolean }>(
    `select n.nspname as schema, c.relname as table, c.relispartition as partition
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_%'`,
  );
  return rows.map((r) => ({ ...r, name: tableKey(r) }));
}

/**
 * Tables whose columns information_schema does not show to this role (it shows only what a
 * role may use): the rules cannot be held against them, so a copy with any is refused.
 */
export async function hiddenTables(client: pg.ClientBase, catalog: Catalog): Promise<string[]> {
  const seen = new Set(catalog.map((t) => t.name));
  return (await relations(client)).filter((r) => !r.partition && !seen.has(r.name)).map((r) => r.name);
}

export interface RulesAgainstCatalog {
  /** Tables and columns the rules do not mention: the copy is refused. */
  readonly unmentioned: readonly Unmentioned[];
  /** Rules that cannot be carried out on this database (a `null` on a NOT NULL column …): refused. */
  readonly problems: readonly string[];
  /** Rules naming a table or column the database has not: not refused, skipped, said. */
  readonly stale: readonly string[];
}

const ruleProblem = (table: string, c: CatalogColumn, rule: ColumnRule): string | undefined => {
  const where = `${table}.${c.name}`;
  if (c.generated && rule !== 'keep')
    return `${where} is generated from other columns (Postgres computes it again from their rewritten values), so its rule must be keep`;
  if (rule === 'null' && !c.nullable)
    return `${where} is NOT NULL, so its rule cannot be \`null\`; use fake:text, hash or keep`;
  if (rule.startsWith('fake:') && !isTextType(c.type))
    return `${where} is of type ${c.type}, not text, so its rule cannot be \`${rule}\`; use null, hash (text or uuid) or keep`;
  if (rule === 'hash' && !isTextType(c.type) && c.type !== 'uuid')
    return `${where} is of type ${c.type}, so its rule cannot be \`hash\` (text or uuid only); use null or keep`;
  if ((rule === 'hash' || rule.startsWith('fake:')) && c.key)
    return `${where} is part of a foreign key, so its rule cannot be \`${rule}\` (the rows would no longer match); use keep`;
  return undefined;
};

/** Holds the rules against the database's catalog: what is unmentioned, what cannot be done, what is stale. */
export function compareWithCatalog(rules: AnonymiseRules, catalog: Catalog): RulesAgainstCatalog {
  const unmentioned: Unmentioned[] = [];
  const problems: string[] = [];
  const stale: string[] = [];
  const byName = new Map(catalog.map((t) => [t.name, t]));
  for (const table of catalog) {
    const rule = rules.tables[table.name];
    if (rule === undefined) {
      unmentioned.push({ table: table.name });
      continue;
    }
    if (rule === 'drop') {
      const keptReferrers = table.referencedBy.filter((r) => rules.tables[r] !== 'drop');
      if (keptReferrers.length)
        problems.push(
          `${table.name} is dropped but ${keptReferrers.join(', ')} refer${keptReferrers.length === 1 ? 's' : ''} to it; drop ${keptReferrers.length === 1 ? 'it' : 'them'} too, or give ${table.name}'s columns rules`,
        );
      continue;
    }
    for (const c of table.columns) {
      const r = rule[c.name];
      if (r === undefined) unmentioned.push({ table: table.name, column: c.name });
      else {
        const problem = ruleProblem(table.name, c, r);
        if (problem) problems.push(problem);
      }
    }
    for (const name of Object.keys(rule))
      if (!table.columns.some((c) => c.name === name)) stale.push(`${table.name}.${name}`);
  }
  for (const name of Object.keys(rules.tables)) if (!byName.has(name)) stale.push(name);
  return { unmentioned, problems, stale };
}

/** `public.customers.phone, public.sessions` */
export const describeUnmentioned = (u: readonly Unmentioned[]) =>
  u.map((x) => (x.column ? `${x.table}.${x.column}` : `${x.table} (table)`)).join(', ');
