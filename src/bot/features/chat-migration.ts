import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { renderChatMove } from '../notifications/chat-move-text.js';

const composer = new Composer<BotContext>();

// Telegram announces an upgrade twice: `migrate_to_chat_id` in the old group, then
// `migrate_from_chat_id` in the new supergroup. Both are recorded; the supergroup, where
// lugh can still write, is told which settings name the old id.
composer.on('message:migrate_to_chat_id', async (ctx) => {
  await ctx.deps.chatMigrations?.follow(ctx.chat.id, ctx.msg.migrate_to_chat_id);
});

composer.on('message:migrate_from_chat_id', async (ctx) => {
  const move = await ctx.deps.chatMigrations?.follow(ctx.msg.migrate_from_chat_id, ctx.chat.id);
  if (move && move.settings.length > 0) await ctx.reply(renderChatMove(move));
});

/** Follows a group that became a supergroup (a new chat id). */
export const chatMigrationFeature: Feature = { commands: [], composer };
