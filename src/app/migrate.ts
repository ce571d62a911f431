import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { runMigrations } from '../store/migrate.js';

/** Applies migrations/ to this instance's database; safe when two migrators race. */
export async function migrate(config: Config, logger: Logger): Promise<void> {
  await runMigrations({ databaseUrl: config.databaseUrl, logger });
}
