import type { Transformer } from 'grammy';
import { redactDeep } from '../redact.js';

// Methods whose payload carries a secret Telegram must receive: the webhook's secret_token.
const SENDS_A_SECRET = new Set(['setWebhook']);

/**
 * Every string of every outgoing Bot API call (a message, a caption, a button, an answer)
 * passes the redactor, whichever feature or service wrote it. Files are sent as they are:
 * whoever builds one (/logs) redacts its content.
 */
export function redactOutgoing(redact: (text: string) => string): Transformer {
  return (prev, method, payload, signal) =>
    SENDS_A_SECRET.has(method)
      ? prev(method, payload, signal)
      : prev(method, redactDeep(payload, redact), signal);
}
