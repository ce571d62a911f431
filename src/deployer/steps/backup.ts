import { found, type Step, succeeded } from './step.js';

/** Production's database dumped before migrating; a failed dump stops the deploy. */
export const backupStep: Step = {
  name: 'backup',
  skipWhy: (ctx) => (typeof ctx.settings.backup === 'string' ? ctx.settings.backup : undefined),
  async run(ctx) {
    const { backup } = ctx.settings;
    if (typeof backup === 'string') throw new Error(`backup ran though it is skipped: ${backup}`);
    return succeeded(await backup(found(ctx.sha, 'commit')));
  },
  // The dump taken before a crash is the state before this deploy's migration: keep it.
  restore: () => true,
};
