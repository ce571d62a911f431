// Changing the bot's own messages: editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage.
import { badRequest } from '../errors.js';
import type { ChatState } from '../state.js';
import type { Message } from '../types.js';
import { type MethodContext, type MethodHandler, messageId, seconds, targetChat } from './context.js';
import { caption, messageText, replyMarkup, withMarkup, withText } from './message-content.js';

/** The bot's own message for an edit, with the real server's refusals. */
function editable(ctx: MethodContext): { chat: ChatState; message: Message } {
  if (ctx.params.has('inline_message_id')) throw badRequest('MESSAGE_ID_INVALID');
  const chat = targetChat(ctx);
  const message = chat.get(messageId(ctx));
  if (!message) throw badRequest('message to edit not found');
  if (!chat.isFromBot(message.message_id)) throw badRequest("message can't be edited");
  // Edits count against the chat's limits like sends: a bot editing one message fast gets
  // 429 "Too Many Requests: retry after N" (e.g. m1guelpf/chatgpt-telegram#22, #58).
  ctx.rateLimiter?.take(ctx.bot.token, chat.chat.id, chat.chat.type);
  return { chat, message };
}

function commitEdit(ctx: MethodContext, chat: ChatState, before: Message, after: Message): Message {
  if (sameContent(before, after)) {
    throw badRequest(
      'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
  }
  const edited = { ...after, edit_date: seconds(ctx) };
  chat.replaceBotMessage(edited, ctx.now());
  ctx.bot.announce(chat.chat.id, edited);
  return edited;
}

function sameContent(a: Message, b: Message): boolean {
  const content = (m: Message) =>
    canonical([m.text, m.entities ?? [], m.caption, m.caption_entities ?? [], m.reply_markup ?? null]);
  return content(a) === content(b);
}

/** JSON with sorted keys, so equal objects built in different orders compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)),
        )
      : v,
  );
}

export const editMethods: Record<string, MethodHandler> = {
  editMessageText: (ctx) => {
    const { chat, message } = editable(ctx);
    if (message.text === undefined) throw badRequest('there is no text in the message to edit');
    const text = messageText(ctx);
    // Like the real server, an edit without reply_markup drops the inline keyboard.
    return commitEdit(
      ctx,
      chat,
      message,
      withMarkup(withText(message, text, 'text'), replyMarkup(ctx, true)),
    );
  },

  editMessageCaption: (ctx) => {
    const { chat, message } = editable(ctx);
    if (message.document === undefined && message.photo === undefined)
      throw badRequest('there is no caption in the message to edit');
    const text = caption(ctx);
    return commitEdit(
      ctx,
      chat,
      message,
      withMarkup(withText(message, text, 'caption'), replyMarkup(ctx, true)),
    );
  },

  editMessageReplyMarkup: (ctx) => {
    const { chat, message } = editable(ctx);
    return commitEdit(ctx, chat, message, withMarkup(message, replyMarkup(ctx, true)));
  },

  deleteMessage: (ctx) => {
    const chat = targetChat(ctx);
    if (!chat.deleteMessage(messageId(ctx), ctx.now())) throw badRequest('message to delete not found');
    return true;
  },
};
