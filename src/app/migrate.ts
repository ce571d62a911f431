import type { Config } from '../config/index.js';
import { formatMigrationReport } from '../deployer/migration-report.js';
import type { Logger } from '../logger.js';

/**
 * Applies migrations/ to this instance's database; safe when two migrators race. Prints
 * what it applied as its last line, which a deploy's migrate step reads (migration-report.ts).
 */
export async function migrate(config: Config, logger: Logger): Promise<void> {
  // Loaded here, not with the CLI: `lugh start` on a migrated database never needs node-pg-migrate.
  const { runMigrations } = await import('../store/migrate.js');
  const result = await runMigrations({ databaseUrl: config.databaseUrl, logger });
  process.stdout.write(`${formatMigrationReport(result)}\n`);
}
