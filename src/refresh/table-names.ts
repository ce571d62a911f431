// How a table is named: in SQL (each part quoted), and in the rules file and in messages
// (`schema.table`). Schema and table travel as separate values from the catalog; only a
// name holding a dot, a double quote or a space is written in double quotes in the rules
// file (`"a.b".customers`), so `schema.table` is never ambiguous.

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** `customers` → `"customers"` (always quoted: names are used as Postgres spells them). */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `{ schema: 'public', table: 'customers' }` → `"public"."customers"` */
export const quoteTable = (t: TableName) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

/** A name as SQL needs it written by hand (in a message's hint): bare when Postgres folds it to itself. */
export const sqlName = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name));

const keyPart = (name: string) => (/[.\s"]/.test(name) ? quoteIdent(name) : name);

/** The table's name in the rules file and in messages: `public.customers`, `"a.b".customers`. */
export const tableKey = (t: TableName) => `${keyPart(t.schema)}.${keyPart(t.table)}`;

const PART = String.raw`(?:"(?:[^"]|"")+"|[^.\s"]+)`;
const KEY = new RegExp(`^(${PART})(?:\\.(${PART}))?$`);
const unquote = (part: string) => (part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part);

/** The rules file's `schema.table` or `table` (schema public), either part in double quotes when it holds a dot; undefined when it is neither. */
export function parseTableKey(text: string): TableName | undefined {
  const m = KEY.exec(text);
  if (!m?.[1]) return undefined;
  return m[2] ? { schema: unquote(m[1]), table: unquote(m[2]) } : { schema: 'public', table: unquote(m[1]) };
}
