import type { Context, MiddlewareFn } from 'grammy';
import { standInSender } from '../../config/index.js';
import type { BotContext } from '../context.js';
import { escapeHtml } from '../html.js';

/**
 * Whether this message hides its writer: written as the group (an anonymous admin) or on
 * behalf of a channel. Telegram then sends it from GroupAnonymousBot or Channel_Bot with
 * `sender_chat`, so its `from.id` is nobody's. (A button press always names its presser.)
 */
export function anonymousSender(
  ctx: Pick<Context, 'message' | 'editedMessage'>,
): 'group' | 'channel' | undefined {
  const message = ctx.message ?? ctx.editedMessage;
  if (!message) return undefined;
  const chat = message.sender_chat;
  if (chat) return chat.type === 'channel' ? 'channel' : 'group';
  if (message.from && standInSender(message.from.id)) return 'channel';
  return undefined;
}

/** What to do instead of writing anonymously (HTML-safe, no ids to copy). */
export function anonymousAdvice(kind: 'group' | 'channel'): string {
  return kind === 'group'
    ? 'you wrote as the group (an anonymous admin), so I cannot tell which admin you are. Turn off “Remain anonymous” in your administrator rights for this group, or write from your own account, then send it again.'
    : 'you wrote on behalf of a channel, so I cannot tell who you are. Write from your own account (pick yourself as the sender), then send it again.';
}

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
    const anonymous = anonymousSender(ctx);
    if (anonymous) {
      await ctx.deps.audit.record({
        actorId: ctx.from?.id,
        actorName: actorName(ctx),
        action,
        outcome: 'refused',
        details: {
          reason: 'anonymous sender',
          chatId: ctx.chat?.id,
          senderChat: ctx.msg?.sender_chat?.id,
        },
      });
      ctx.deps.logger.warn({ action, senderChat: ctx.msg?.sender_chat?.id }, 'refused an anonymous sender');
      await ctx.reply(`⛔ ${escapeHtml(action)} cannot be run anonymously: ${anonymousAdvice(anonymous)}`);
      return;
    }
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
