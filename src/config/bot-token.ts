/**
 * Anything shaped like a Telegram bot token (`<bot id>:<35 characters>`), known or not:
 * another instance's token can travel inside an error message it published (a Bot API URL).
 */
export const BOT_TOKEN_SHAPE = /\d{5,}:[A-Za-z0-9_-]{30,}/g;

const WHOLE_TOKEN = new RegExp(`^${BOT_TOKEN_SHAPE.source}$`);

/** A whole value shaped as @BotFather prints a token; no bot id is longer than 16 digits. */
export function isBotToken(value: string): boolean {
  return WHOLE_TOKEN.test(value) && value.indexOf(':') <= 16;
}
