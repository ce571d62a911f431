import { type Api, InlineKeyboard } from 'grammy';
import type { Button, PromotionChat } from '../../promotion/notices.js';
import { editRefusedForGood, notModified } from '../telegram-errors.js';
import { BUTTON_LABELS, renderNotice } from './notice-text.js';

function keyboard(buttons: readonly Button[] | undefined): InlineKeyboard {
  const kb = new InlineKeyboard();
  for (const b of buttons ?? []) kb.text(BUTTON_LABELS[b.action], b.data);
  return kb;
}

/**
 * The promotion's notices, rendered and sent through the bot's Api (so marked and retried
 * like all others). The Api is looked up on each call: the bot is built after the service.
 */
export function createPromotionChat(apiOf: () => Api): PromotionChat {
  const send: PromotionChat['send'] = async (chatId, notice, buttons) => {
    const message = await apiOf().sendMessage(chatId, renderNotice(notice), {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      reply_markup: buttons?.length ? keyboard(buttons) : undefined,
    });
    return message.message_id;
  };
  return {
    send,
    async edit(chatId, messageId, notice, buttons) {
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
        // Deleted by a user, too old, or otherwise refused for good: say it anew.
        if (editRefusedForGood(error)) return send(chatId, notice, buttons);
        throw error;
      }
    },
  };
}
