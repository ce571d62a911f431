import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { anonymousAdvice, anonymousSender } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

// Any message opens the chat for the bot (Telegram lets no bot write first): after it is
// handled, what was kept for that chat is sent and a refused admin menu is published.
composer.on('message', async (ctx, next) => {
  await next();
  const reach = ctx.deps.chatReach;
  if (!reach) return;
  void reach
    .wrote(ctx.chat.id, ctx.from?.id)
    .catch((error: unknown) =>
      ctx.deps.logger.warn({ err: error }, 'could not follow up a chat that opened'),
    );
});

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
