import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

/** /version: the exact build this bot runs, to compare with a commit or a release. */
composer.command('version', async (ctx) => {
  const { config } = ctx.deps;
  const { gitSha, buildTime } = config.build;
  await ctx.reply(
    [
      `lugh ${config.appEnv} (@${escapeHtml(ctx.me.username)})`,
      `Commit: ${gitSha ? `<code>${escapeHtml(gitSha)}</code>` : 'unknown (no GIT_SHA in this build)'}`,
      `Built: ${buildTime ? escapeHtml(buildTime) : 'unknown'}`,
    ].join('\n'),
  );
});

export const versionFeature: Feature = {
  commands: [
    { command: 'version', description: 'The commit and build time this bot runs', access: 'everyone' },
  ],
  composer,
};
