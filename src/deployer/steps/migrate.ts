import { parseMigrationReport } from '../migration-report.js';
import { onlyServiceOf } from './resolve.js';
import { found, type Step, skipped, succeeded } from './step.js';

/** Why a rollback of one service alone migrates nothing (the step's record says it). */
export const ALONE_NO_MIGRATION = 'one service rolled back alone; the database stays as it is';

/**
 * The migration the new image declares, run before anything is switched. What it reports
 * it applied (a `lugh.migrations` line, see migration-report.ts) is recorded on the
 * deployment, irreversible ones with why, for /rollback to warn about. A rollback of one
 * service alone migrates nothing: the others, which stay, run against the database as it is.
 */
export const migrateStep: Step = {
  name: 'migrate',
  skipWhy: (ctx) => (onlyServiceOf(ctx) ? ALONE_NO_MIGRATION : undefined),
  async run(ctx) {
    const migration = await ctx.runtime.runMigration({
      containerName: ctx.containerName,
      image: found(ctx.image, 'image'),
      sha: found(ctx.sha, 'commit'),
      timeoutMs: ctx.settings.migrateTimeoutMs,
    });
    if (!migration) return skipped('the image declares no lugh.migrate command');
    const command = migration.command.join(' ');
    let report: ReturnType<typeof parseMigrationReport>;
    try {
      report = parseMigrationReport(migration.logTail);
    } catch (error) {
      // The database is migrated already: the deploy goes on, and the record says it is unknown.
      ctx.log.warn({ err: error }, 'could not read what the migration applied');
      return succeeded(`${command} · ${(error as Error).message}; what it applied is unknown`);
    }
    if (!report) return succeeded(`${command} · it did not report what it applied (no lugh.migrations line)`);
    const why = new Map(report.irreversible.map((m) => [m.name, m.why]));
    await ctx.deployments.recordMigrations(
      ctx.deployment.id,
      report.applied.map((name) => ({ name, irreversible: why.get(name) })),
    );
    if (report.applied.length === 0) return succeeded(`${command} · the database was up to date`);
    const irreversible = report.irreversible.length
      ? `; irreversible: ${report.irreversible.map((m) => m.name).join(', ')}`
      : '';
    return succeeded(`${command} · applied ${report.applied.join(', ')}${irreversible}`);
  },
  // The database is migrated; the containers of the steps after it were converged away.
  restore: () => true,
};
