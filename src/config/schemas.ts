import { z } from 'zod';

/** An optional variable: blank counts as not set, so an empty line in an env file is harmless. */
export const optional = <S extends z.ZodType<unknown, string>>(schema: S) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

export const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http:// or https:// URL');

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
