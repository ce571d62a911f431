import { BOT_TOKEN_SHAPE } from './config/bot-token.js';

/** What a removed secret becomes. */
export const REDACTED = '[redacted]';

/**
 * Replaces whatever looks like a bot token in a text, known or not: another instance's
 * token can travel inside an error message it published (a Bot API URL).
 */
export function scrubBotTokens(text: string): string {
  return text.replace(BOT_TOKEN_SHAPE, REDACTED);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `%4a` as `%4[aA]`: percent-encoding may use either case. */
function anyCaseHex(byte: number): string {
  return byte
    .toString(16)
    .toUpperCase()
    .padStart(2, '0')
    .replace(/[A-F]/g, (d) => `[${d}${d.toLowerCase()}]`);
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const JSON_SHORT: Record<string, string> = { '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f' };

/**
 * Every way one character of a secret may travel, as a regular expression: as-is,
 * percent-encoded in either case (and double-encoded, `%2541`), `+` for a space,
 * JSON-escaped at any depth (`\"`, `\\\"`, `\u0022`), and as an HTML entity.
 */
function charPattern(char: string): string {
  const ways = [escapeRegExp(char)];
  ways.push([...Buffer.from(char, 'utf8')].map((byte) => `%(?:25)*${anyCaseHex(byte)}`).join(''));
  if (char === ' ') ways.push('\\+');
  if (char === '"' || char === '/') ways.push(`\\\\+${escapeRegExp(char)}`);
  if (char === '\\') ways.push('\\\\+');
  if (JSON_SHORT[char]) ways.push(`\\\\+${JSON_SHORT[char]}`);
  if (!/[A-Za-z0-9]/.test(char) && char.length === 1) {
    const code = char.charCodeAt(0);
    ways.push(`\\\\+[uU]${[12, 8, 4, 0].map((shift) => anyCaseHexDigit((code >> shift) & 0xf)).join('')}`);
  }
  if (HTML_ENTITIES[char]) ways.push(escapeRegExp(HTML_ENTITIES[char]));
  return ways.length === 1 ? ways[0]! : `(?:${ways.join('|')})`;
}

function anyCaseHexDigit(digit: number): string {
  const d = digit.toString(16);
  return /[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d;
}

// Base64 pieces shorter than this are too likely to occur by chance.
const MIN_BASE64 = 8;

/**
 * The base64 text a secret becomes wherever it sits in the encoded bytes (a secret inside
 * `user:password` starts at any of three offsets): for each offset, the characters that
 * depend on the secret alone, in the standard and the URL-safe alphabet.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const whole = Math.floor((offset + bytes.length) / 3) * 4;
    const piece = encoded.slice(offset === 0 ? 0 : 4, whole);
    if (piece.length < MIN_BASE64) continue;
    forms.push(piece, piece.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  // The whole secret, padded, as it is when it is all that was encoded.
  const full = bytes.toString('base64');
  if (full.length >= MIN_BASE64)
    forms.push(full, full.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  return forms;
}

/** A pattern for one secret in every form of `charPattern`, and its base64 forms. */
function secretPattern(secret: string): string[] {
  const chars = [...secret].map(charPattern).join('');
  return [chars, ...base64Forms(secret).map(escapeRegExp)];
}

/**
 * The one redactor: replaces every occurrence of the given secrets in a text, in the forms
 * they travel in — as-is, percent-encoded in any case (also twice), base64, JSON-escaped
 * (nested too) and HTML-escaped — and anything shaped like a bot token. Used on every log
 * line, chat message, GitHub status, error and file lugh sends.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const unique = [...new Set(secrets.filter((s) => s.length >= 4))];
  if (unique.length === 0) return scrubBotTokens;
  // Longest first, so a token is replaced whole before its secret half is.
  const alternatives = unique.sort((a, b) => b.length - a.length).flatMap(secretPattern);
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => scrubBotTokens(text.replace(pattern, REDACTED));
}

/** Every string inside a value (object keys and values, arrays), redacted; other values as they are. */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)])) as T;
  }
  return value;
}

/**
 * A URL's password out of text a preview's code may have written (its build's or its
 * container's last lines): its own DATABASE_URL and REDIS_URL carry a password lugh derives
 * and never stores, which no redactor knows.
 */
export function withoutUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`);
}
