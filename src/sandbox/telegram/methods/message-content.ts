// A message's text or caption and its inline keyboard, read from the parameters and set on a message.
import { badRequest } from '../errors.js';
import { parseFormattedText } from '../formatted-text.js';
import type { FormattedText } from '../html.js';
import { readReplyMarkup } from '../reply-markup.js';
import type { InlineKeyboardMarkup, Message } from '../types.js';
import type { MethodContext } from './context.js';

const maxTextLength = 4096;
const maxCaptionLength = 1024;

function formatted(ctx: MethodContext, field: 'text' | 'caption'): FormattedText {
  const source = ctx.params.string(field) ?? '';
  const entitiesField = field === 'text' ? 'entities' : 'caption_entities';
  return parseFormattedText(source, ctx.params.string('parse_mode'), ctx.params.json(entitiesField));
}

export function messageText(ctx: MethodContext): FormattedText {
  if (!ctx.params.has('text')) throw badRequest('message text is empty');
  const text = formatted(ctx, 'text');
  if (text.text.length === 0) throw badRequest('message text is empty');
  if (text.text.length > maxTextLength) throw badRequest('message is too long');
  return text;
}

export function caption(ctx: MethodContext): FormattedText {
  const text = formatted(ctx, 'caption');
  if (text.text.length > maxCaptionLength) throw badRequest('message caption is too long');
  return text;
}

export function replyMarkup(ctx: MethodContext, inlineOnly: boolean): InlineKeyboardMarkup | undefined {
  return readReplyMarkup(ctx.params.json('reply_markup', 'reply keyboard markup JSON object'), {
    inlineOnly,
  });
}

export function withText(message: Message, text: FormattedText, field: 'text' | 'caption'): Message {
  const entitiesField = field === 'text' ? 'entities' : 'caption_entities';
  const next: Message = { ...message };
  delete next[field];
  delete next[entitiesField];
  if (text.text.length > 0) next[field] = text.text;
  if (text.entities.length > 0) next[entitiesField] = text.entities;
  return next;
}

export function withMarkup(message: Message, markup: InlineKeyboardMarkup | undefined): Message {
  const next: Message = { ...message };
  delete next.reply_markup;
  if (markup) next.reply_markup = markup;
  return next;
}
