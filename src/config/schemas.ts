import * as z from 'zod';

/** An optional variable: blank counts as not set, so an empty line in an env file is harmless. */
export const optional = <S extends z.ZodType<unknown, string>>(schema: S) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

export const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http:// or https:// URL');

const WEBHOOK_PORTS = new Set(['', '443', '80', '88', '8443']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A webhook URL Telegram will call: HTTPS on port 443, 80, 88 or 8443 (Bot API, setWebhook).
 * A loopback URL is for a local Bot API server (`--local` takes any scheme and port).
 */
export const telegramWebhookUrl = httpUrl.superRefine((v, ctx) => {
  const url = new URL(v);
  if (LOOPBACK.has(url.hostname)) return;
  const what =
    url.protocol !== 'https:'
      ? 'must be an https:// URL: Telegram delivers webhooks over HTTPS only'
      : !WEBHOOK_PORTS.has(url.port)
        ? `is on port ${url.port}, but Telegram delivers webhooks only to port 443, 80, 88 or 8443`
        : undefined;
  if (what) {
    ctx.addIssue({
      code: 'custom',
      message: `${what}. Put a reverse proxy with a certificate in front of PORT (e.g. https://bot.example.com/webhooks/telegram), or unset it to use long polling.`,
    });
  }
});

/** One of a few words; the message lists them. */
export const oneOf = <const W extends readonly [string, ...string[]]>(words: W, message?: string) =>
  optional(z.string()).pipe(z.enum(words, message ? { message } : undefined).optional());

export const minutes = () =>
  optional(z.string().regex(/^[1-9]\d*$/, 'must be a positive whole number of minutes')).transform((v) =>
    v === undefined ? undefined : Number(v) * 60_000,
  );

/** A whole number of `what`, 1–9999; `scale` converts it (seconds to milliseconds). */
export const count = (what: string, scale = 1) =>
  optional(z.string().regex(/^[1-9]\d{0,3}$/, `must be a whole number of ${what}, 1–9999`)).transform((v) =>
    v === undefined ? undefined : Number(v) * scale,
  );

export const withoutTrailingSlash = (url: string | undefined) => url?.replace(/\/+$/, '');

/** A comma-separated list, trimmed, as numbers. */
export const numbersOf = (list: string): number[] => list.split(',').map((s) => Number(s.trim()));

export function urlPassword(url: string): string | undefined {
  const password = URL.canParse(url) ? new URL(url).password : '';
  return password ? decodeURIComponent(password) : undefined;
}

/** `lugh config`'s rendering of a secret: whether it is set, never what it is. */
export const redacted = (value: string | undefined) => (value ? '[redacted]' : '(not set)');

export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = 'redacted';
  return u.toString();
}

export const orElse =
  (unset: string) =>
  <T>(value: T | undefined): T | string =>
    value ?? unset;

export const ms = { toSeconds: (v: number) => v / 1000, toMinutes: (v: number) => v / 60_000 };
