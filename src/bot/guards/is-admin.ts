import type { MiddlewareFn } from 'grammy';
import type { BotContext } from '../context.js';
import { escapeHtml } from '../html.js';

export function actorName(ctx: BotContext): string | undefined {
  const from = ctx.from;
  if (!from) return undefined;
  return from.username ? `@${from.username}` : [from.first_name, from.last_name].filter(Boolean).join(' ');
}

/**
 * Lets only ADMIN_IDS through. Anyone else gets a clear refusal (a reply for a
 * command, an alert for a button) and the attempt is written to the audit log.
 */
export function requireAdmin(action: string): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    if (ctx.isAdmin) return next();
    const userId = ctx.from?.id;
    await ctx.deps.audit.record({
      actorId: userId,
      actorName: actorName(ctx),
      action,
      outcome: 'refused',
      details: { reason: 'not an admin', chatId: ctx.chat?.id },
    });
    ctx.deps.logger.warn({ userId, action }, 'refused a non-admin');
    if (ctx.callbackQuery) {
      await ctx.answerCallbackQuery({
        text: 'Only lugh admins can use this button.',
        show_alert: true,
      });
      return;
    }
    await ctx.reply(
      `⛔ ${escapeHtml(action)} is for lugh admins only. Your Telegram id is <code>${userId ?? 'unknown'}</code>: ask an admin to add it to ADMIN_IDS if you need it.`,
    );
  };
}
