import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { escapeHtml, shortSha } from '../html.js';

const composer = new Composer<BotContext>();

composer.command('whoami', async (ctx) => {
  const { config } = ctx.deps;
  const from = ctx.from;
  if (!from) return;
  const name = from.username ? `@${from.username}` : from.first_name;
  await ctx.reply(
    [
      `User: ${escapeHtml(name)}`,
      `Id: <code>${from.id}</code>`,
      `Role: ${ctx.isAdmin ? 'admin' : 'not an admin'}`,
      `Environment: ${config.appEnv} (@${escapeHtml(ctx.me.username)})`,
      `Version: <code>${escapeHtml(shortSha(config.build.gitSha ?? 'unknown'))}</code>`,
    ].join('\n'),
  );
});

export const whoamiFeature: Feature = {
  commands: [
    {
      command: 'whoami',
      description: 'Your id, your role, this environment and its version',
      access: 'everyone',
    },
  ],
  composer,
};
