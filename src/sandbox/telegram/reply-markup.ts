import { badRequest } from './errors.js';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from './types.js';

const buttonActions = [
  'url',
  'callback_data',
  'web_app',
  'login_url',
  'switch_inline_query',
  'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat',
  'copy_text',
  'callback_game',
  'pay',
];

/**
 * Validates `reply_markup`. Returns the inline keyboard a Message carries, or undefined
 * for reply keyboards and removals, which the real server never echoes in a Message.
 */
export function readReplyMarkup(
  value: unknown,
  options: { inlineOnly: boolean },
): InlineKeyboardMarkup | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest("can't parse reply keyboard markup JSON object");
  }
  const markup = value as Record<string, unknown>;
  if ('inline_keyboard' in markup) return readInlineKeyboard(markup.inline_keyboard);
  if (options.inlineOnly) throw badRequest('inline keyboard expected');
  if ('keyboard' in markup || 'remove_keyboard' in markup || 'force_reply' in markup) return undefined;
  throw badRequest("can't parse reply keyboard markup JSON object");
}

function readInlineKeyboard(rows: unknown): InlineKeyboardMarkup | undefined {
  if (!Array.isArray(rows))
    throw badRequest('can\'t parse inline keyboard: field "inline_keyboard" must be an Array');
  const keyboard: InlineKeyboardButton[][] = rows.map((row) => {
    if (!Array.isArray(row)) throw badRequest("can't parse inline keyboard: keyboard row must be an Array");
    return row.map(readButton);
  });
  const nonEmpty = keyboard.filter((row) => row.length > 0);
  // An empty keyboard is how callers remove one; the message then carries no markup.
  return nonEmpty.length === 0 ? undefined : { inline_keyboard: nonEmpty };
}

function readButton(value: unknown): InlineKeyboardButton {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  }
  const button = value as Record<string, unknown>;
  if (typeof button.text !== 'string') {
    throw badRequest('can\'t parse inline keyboard button: Field "text" must be of type String');
  }
  if (button.text.trim().length === 0) throw badRequest('BUTTON_TEXT_INVALID');
  const actions = buttonActions.filter((action) => button[action] !== undefined && button[action] !== null);
  if (actions.length === 0) {
    throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  }
  if (button.callback_data !== undefined) {
    const data = button.callback_data;
    const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : 0;
    if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
  }
  if (button.url !== undefined && !isButtonUrl(button.url)) throw badRequest('BUTTON_URL_INVALID');
  const clean: InlineKeyboardButton = { text: button.text };
  for (const action of actions) clean[action] = button[action];
  return clean;
}

function isButtonUrl(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  try {
    return ['http:', 'https:', 'tg:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
