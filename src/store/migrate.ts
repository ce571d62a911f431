import { runner } from 'node-pg-migrate';
import type { Logger } from '../logger.js';
import { irreversibleMigrations } from './migration-markers.js';
import { MIGRATIONS_DIR } from './migration-state.js';

/** Re-exported for the tests and tools that knew it here. */
export { MIGRATIONS_DIR };

export interface MigrationResult {
  readonly applied: readonly string[];
  /** The applied migrations marked `-- lugh:irreversible <why>`, with why. */
  readonly irreversible: ReadonlyArray<{ readonly name: string; readonly why: string }>;
}

/**
 * Applies every pending migration in one transaction. node-pg-migrate holds a Postgres
 * advisory lock while it runs and waits for it here, so two migrators racing on one
 * database apply each migration once; advisory locks are per database, so the other
 * environment's migrator is never blocked. Says which of the applied migrations are
 * irreversible (see migration-markers.ts).
 */
export async function runMigrations(options: {
  databaseUrl: string;
  logger: Logger;
  dir?: string;
}): Promise<MigrationResult> {
  const log = options.logger.child({ component: 'migrate' });
  // Read before anything is applied: a misplaced or reasonless marker stops the migration.
  const marked = irreversibleMigrations(options.dir ?? MIGRATIONS_DIR);
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: options.dir ?? MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Number.POSITIVE_INFINITY,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    checkOrder: true,
    logger: {
      debug: (msg: string) => log.debug(msg),
      info: (msg: string) => log.debug(msg),
      warn: (msg: string) => log.warn(msg),
      error: (msg: string) => log.error(msg),
    },
  });
  const names = applied.map((m) => m.name);
  log.info(
    { applied: names },
    names.length ? `applied ${names.length} migration(s)` : 'database is up to date',
  );
  const irreversible = names.flatMap((name) => {
    const why = marked.get(name);
    return why === undefined ? [] : [{ name, why }];
  });
  return { applied: names, irreversible };
}
