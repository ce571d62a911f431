// Sending into a chat: sendMessage, sendDocument and sendPhoto (and getFile to read them back),
// sendChatAction.
import { badRequest } from '../errors.js';
import { mimeTypeOf } from '../mime-types.js';
import { checkPhoto } from '../photo.js';
import type { ChatState, StoredFile } from '../state.js';
import type { Message } from '../types.js';
import { type MethodContext, type MethodHandler, seconds, targetChat } from './context.js';
import { caption, messageText, replyMarkup, withMarkup, withText } from './message-content.js';

const chatActions = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

function replyTarget(ctx: MethodContext, chat: ChatState): Message | undefined {
  const parameters = ctx.params.json('reply_parameters') as
    | { message_id?: number; allow_sending_without_reply?: boolean }
    | undefined;
  const id = parameters?.message_id ?? ctx.params.int('reply_to_message_id');
  if (id === undefined) return undefined;
  const target = chat.get(id);
  const allowMissing =
    parameters?.allow_sending_without_reply ?? ctx.params.bool('allow_sending_without_reply') ?? false;
  if (!target && !allowMissing) throw badRequest('message to be replied not found');
  if (!target) return undefined;
  const { reply_to_message: _nested, ...shallow } = target;
  return structuredClone(shallow);
}

/** Sends a bot message into a chat: rate limit, message_id, transcript, waiters. */
function postBotMessage(
  ctx: MethodContext,
  chat: ChatState,
  build: (base: Message) => Message,
  file?: StoredFile,
): Message {
  ctx.rateLimiter?.take(ctx.bot.token, chat.chat.id, chat.chat.type);
  const reply = replyTarget(ctx, chat);
  const base: Message = {
    message_id: chat.takeMessageId(),
    from: ctx.bot.asUser,
    chat: chat.chat,
    date: seconds(ctx),
    ...(reply ? { reply_to_message: reply } : {}),
  };
  const message = withMarkup(build(base), replyMarkup(ctx, false));
  const photo = message.photo?.at(-1);
  chat.addBotMessage(
    message,
    ctx.now(),
    file && message.document ? { ...message.document, content: Buffer.from(file.content) } : undefined,
    file && photo ? { ...photo, content: Buffer.from(file.content) } : undefined,
  );
  ctx.bot.announce(chat.chat.id, message);
  return message;
}

function uploadedDocument(ctx: MethodContext, field: 'document' | 'photo' = 'document'): StoredFile {
  const input = ctx.params.file(field);
  if (input === undefined || input === '') throw badRequest(`there is no ${field} in the request`);
  if (typeof input === 'string') {
    const known = ctx.bot.files.get(input);
    if (known) return known;
    if (/^https?:\/\//i.test(input)) throw badRequest('failed to get HTTP URL content');
    throw badRequest('wrong file identifier/HTTP URL specified');
  }
  if (input.content.length === 0) throw badRequest('file must be non-empty');
  const mimeType = mimeTypeOf(input.filename, input.contentType);
  return ctx.bot.storeFile(input.filename, mimeType, input.content);
}

export const sendMethods: Record<string, MethodHandler> = {
  sendMessage: (ctx) => {
    const chat = targetChat(ctx);
    const text = messageText(ctx);
    return postBotMessage(ctx, chat, (base) => withText(base, text, 'text'));
  },

  sendDocument: (ctx) => {
    const chat = targetChat(ctx);
    const captionText = caption(ctx);
    const file = uploadedDocument(ctx);
    return postBotMessage(
      ctx,
      chat,
      (base) =>
        withText(
          {
            ...base,
            document: {
              file_id: file.fileId,
              file_unique_id: file.fileUniqueId,
              file_name: file.fileName,
              mime_type: file.mimeType,
              file_size: file.content.length,
            },
          },
          captionText,
          'caption',
        ),
      file,
    );
  },

  sendPhoto: (ctx) => {
    const chat = targetChat(ctx);
    const captionText = caption(ctx);
    const file = uploadedDocument(ctx, 'photo');
    const { width, height } = checkPhoto(Buffer.from(file.content));
    return postBotMessage(
      ctx,
      chat,
      (base) =>
        withText(
          {
            ...base,
            photo: [
              {
                file_id: file.fileId,
                file_unique_id: file.fileUniqueId,
                width,
                height,
                file_size: file.content.length,
              },
            ],
          },
          captionText,
          'caption',
        ),
      file,
    );
  },

  getFile: (ctx) => {
    const file = ctx.bot.files.get(ctx.params.string('file_id') ?? '');
    if (!file) throw badRequest('invalid file_id');
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.content.length,
      file_path: file.filePath,
    };
  },

  sendChatAction: (ctx) => {
    const chat = targetChat(ctx);
    const action = ctx.params.string('action') ?? '';
    if (!chatActions.has(action)) throw badRequest('wrong parameter action in request');
    chat.record({ kind: 'chat_action', at: ctx.now(), action });
    return true;
  },
};
