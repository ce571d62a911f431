import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';

/** Installed last: whatever no feature handled gets a pointer to /help. */
export const unknownFeature = new Composer<BotContext>();

unknownFeature.on('callback_query:data', requireAdmin('button'), async (ctx) => {
  await ctx.answerCallbackQuery({ text: 'This button is no longer active. Run the command again.' });
});

unknownFeature.on('message:text', async (ctx) => {
  if (ctx.chat.type !== 'private' && !ctx.msg.text.startsWith('/')) return;
  // With privacy mode off lugh sees every command in a group, /status@OtherBot included: not its own.
  const addressee = /^\/\w+@(\w+)/.exec(ctx.msg.text)?.[1];
  if (addressee && addressee.toLowerCase() !== ctx.me.username.toLowerCase()) return;
  await ctx.reply('I don’t know that one. /help lists what you can run.');
});
