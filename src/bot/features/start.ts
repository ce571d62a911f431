import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { anonymousAdvice, anonymousSender } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

composer.command('start', async (ctx) => {
  const { config } = ctx.deps;
  const anonymous = anonymousSender(ctx);
  const role = ctx.isAdmin
    ? 'You are an admin here.'
    : anonymous
      ? `Admin commands are refused now: ${anonymousAdvice(anonymous)}`
      : 'You are not an admin, so you can only look around.';
  await ctx.reply(
    [
      `<b>${escapeHtml(config.botDisplayName)}</b> runs the ${config.appEnv} environment of this project.`,
      'I promote develop to main, deploy it and report back, all from this chat.',
      role,
      'Send /help for the commands you can run.',
    ].join('\n'),
  );
});

export const startFeature: Feature = {
  commands: [{ command: 'start', description: 'What this bot is', access: 'everyone' }],
  composer,
};
