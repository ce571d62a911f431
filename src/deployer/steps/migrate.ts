import { found, type Step, skipped, succeeded } from './step.js';

/** The migration the new image declares, run before anything is switched. */
export const migrateStep: Step = {
  name: 'migrate',
  async run(ctx) {
    const migration = await ctx.runtime.runMigration({
      containerName: ctx.containerName,
      image: found(ctx.image, 'image'),
      sha: found(ctx.sha, 'commit'),
      timeoutMs: ctx.settings.migrateTimeoutMs,
    });
    return migration
      ? succeeded(migration.command.join(' '))
      : skipped('the image declares no lugh.migrate command');
  },
  // The database is migrated; the containers of the steps after it were converged away.
  restore: () => true,
};
