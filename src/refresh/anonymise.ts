// The contract between the anonymiser (the rules file, the rewrite of a temporary database,
// the scan) and the refresh flow that calls it. See README, "Staging with production-shaped data".

/** What one column becomes. `keep` copies it; `null` empties it; `fake:*` replaces it with a made-up value of that kind; `hash` with a keyed hash (stable, so joins on it still match). */
export type ColumnRule = 'keep' | 'null' | 'fake:email' | 'fake:name' | 'fake:phone' | 'fake:text' | 'hash';

/** The rules file (`lugh.anonymise.yml` at the repository's root), as validated. */
export interface AnonymiseRules {
  /** Per table (`schema.table`, or `table` for public): `drop` (the table is emptied in the copy), or a rule per column. */
  readonly tables: Readonly<Record<string, 'drop' | Readonly<Record<string, ColumnRule>>>>;
}

/** A table or column the rules do not mention: the copy is refused, naming it. */
export interface Unmentioned {
  readonly table: string;
  readonly column?: string;
}

/** A value that looks personal (an e-mail, a phone number, a token) left in a column marked `keep`. */
export interface SurvivingValue {
  readonly table: string;
  readonly column: string;
  readonly kind: 'email' | 'phone' | 'token';
  /** How many rows hold one; the values themselves are never reported. */
  readonly rows: number;
}

export interface AnonymiseReport {
  readonly tables: number;
  readonly rowsRewritten: number;
  readonly droppedTables: readonly string[];
}

/** Rewrites the database at `databaseUrl` (a temporary copy, never production's own) by the rules; refuses before changing anything when a table or column is unmentioned. */
export type Anonymise = (
  databaseUrl: string,
  rules: AnonymiseRules,
  hashKey: string,
) => Promise<AnonymiseReport>;
