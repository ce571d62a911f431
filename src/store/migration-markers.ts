import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What a migration says of itself in its header (the comment lines before `-- Up
 * Migration`). One directive exists: `-- lugh:irreversible <why>`, for a migration after
 * which the release before it no longer fits the database, or that loses data its down
 * section cannot bring back (a dropped column, a rewritten value). A migration without it
 * is reversible: the previous release runs on the migrated schema as it is.
 */
export interface MigrationMarkers {
  /** Why the migration cannot be undone; undefined when it can. */
  readonly irreversible?: string;
}

/** A `-- lugh:` line that is misplaced, misspelt or says no reason: a migration must not be silently taken for reversible. */
export class MigrationMarkerError extends Error {
  constructor(
    readonly migration: string,
    problem: string,
  ) {
    super(`${migration}: ${problem}`);
    this.name = 'MigrationMarkerError';
  }
}

const UP = /^\s*--[\s-]*up\s+migration/i;
const DIRECTIVE = /^\s*--\s*lugh\s*:\s*([a-z-]*)(.*)$/i;

/** The markers of one migration's SQL; `name` is for the error messages. */
export function parseMigrationMarkers(name: string, sql: string): MigrationMarkers {
  let inHeader = true;
  let irreversible: string | undefined;
  for (const line of sql.split(/\r?\n/)) {
    if (inHeader && UP.test(line)) {
      inHeader = false;
      continue;
    }
    const directive = DIRECTIVE.exec(line);
    if (!directive) continue;
    const [, word = '', rest = ''] = directive;
    if (!inHeader)
      throw new MigrationMarkerError(
        name,
        `“${line.trim()}” is below “-- Up Migration”; move it into the header above it`,
      );
    if (word !== 'irreversible')
      throw new MigrationMarkerError(
        name,
        `unknown directive “lugh:${word}”; the only one is “-- lugh:irreversible <why>”`,
      );
    if (irreversible !== undefined)
      throw new MigrationMarkerError(name, 'says “lugh:irreversible” twice; keep one line');
    const why = rest.trim();
    if (!why)
      throw new MigrationMarkerError(
        name,
        '“-- lugh:irreversible” needs a reason after it, e.g. “-- lugh:irreversible drops deployments.promotion_id”',
      );
    irreversible = why;
  }
  return irreversible === undefined ? {} : { irreversible };
}

/** The irreversible migrations of a directory of `.sql` migrations, by name (the file name without `.sql`), with why. */
export function irreversibleMigrations(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const name = file.replace(/\.sql$/, '');
    const { irreversible } = parseMigrationMarkers(name, readFileSync(path.join(dir, file), 'utf8'));
    if (irreversible !== undefined) found.set(name, irreversible);
  }
  return found;
}
