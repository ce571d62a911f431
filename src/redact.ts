import { BOT_TOKEN_SHAPE } from './config/bot-token.js';

/**
 * Replaces whatever looks like a bot token in a text, known or not: another instance's
 * token can travel inside an error message it published (a Bot API URL).
 */
export function scrubBotTokens(text: string): string {
  return text.replace(BOT_TOKEN_SHAPE, '[redacted]');
}

/**
 * Replaces every occurrence of the given secrets in a text, in the forms they travel in:
 * as-is, URL-encoded and JSON-escaped, and anything shaped like a bot token. Used on every
 * log line, error and chat message.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return scrubBotTokens;
  // Longest first, so a token is replaced whole before its secret half is.
  const pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return (text) => scrubBotTokens(text.replace(pattern, '[redacted]'));
}
