import { type Api, InlineKeyboard } from 'grammy';
import type { ChatMigrations } from '../../notifications/chat-migrations.js';
import type { Button, PromotionChat, PromotionNotice } from '../../promotion/notices.js';
import { editRefusedForGood, migratedTo, notModified } from '../telegram-errors.js';
import { BUTTON_LABELS, renderNotice } from './notice-text.js';

function keyboard(buttons: readonly Button[] | undefined): InlineKeyboard {
  const kb = new InlineKeyboard();
  for (const b of buttons ?? []) kb.text(BUTTON_LABELS[b.action], b.data);
  return kb;
}

/** The link buttons a notice carries by itself: a t.me deep link to open the production bot. */
function linkKeyboard(notice: PromotionNotice): InlineKeyboard | undefined {
  if (notice.kind !== 'production cannot reach') return undefined;
  return new InlineKeyboard().url(`Open @${notice.bot}`, `https://t.me/${notice.bot}?start=reports`);
}

/** What the promotion's chat needs of the chat migrations (notifications/chat-migrations.ts). */
type MovedChats = Pick<ChatMigrations, 'current' | 'follow'>;

/**
 * The promotion's notices, rendered and sent through the bot's Api (so marked and retried
 * like all others). The Api is looked up on each call: the bot is built after the service.
 * With `migrations`, a group that became a supergroup is written to at its new id.
 */
export function createPromotionChat(apiOf: () => Api, migrations?: MovedChats): PromotionChat {
  const where = async (chatId: number) => (await migrations?.current(chatId)) ?? chatId;
  const sendTo = (chatId: number, notice: PromotionNotice, buttons?: readonly Button[]) =>
    apiOf().sendMessage(chatId, renderNotice(notice), {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      reply_markup: buttons?.length ? keyboard(buttons) : linkKeyboard(notice),
    });
  const send: PromotionChat['send'] = async (chatId, notice, buttons) => {
    const target = await where(chatId);
    try {
      return (await sendTo(target, notice, buttons)).message_id;
    } catch (error) {
      const to = migratedTo(error);
      if (to === undefined || !migrations) throw error;
      // Upgraded to a supergroup since lugh last wrote there: follow it.
      await migrations.follow(target, to);
      return (await sendTo(to, notice, buttons)).message_id;
    }
  };
  return {
    send,
    where,
    async edit(chatId, messageId, notice, buttons) {
      // The chat moved: the message is in the old group, which Telegram no longer edits.
      if ((await where(chatId)) !== chatId) return send(chatId, notice, buttons);
      try {
        await apiOf().editMessageText(chatId, messageId, renderNotice(notice), {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          reply_markup: keyboard(buttons),
        });
        return messageId;
      } catch (error) {
        // Same text as before: Telegram refuses the edit, and there is nothing to do.
        if (notModified(error)) return messageId;
        // Deleted by a user, too old, the group upgraded, or otherwise refused for good: say it anew.
        if (editRefusedForGood(error)) return send(chatId, notice, buttons);
        throw error;
      }
    },
  };
}
