// Each form a secret travels in, removed by the one redactor.
import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, redactDeep } from '../../src/redact.js';

const secret = 'Pw/q"s&k+1 é~x';
const redact = createRedactor([secret]);

function removed(text: string): void {
  const out = redact(`before ${text} after`);
  expect(out).toBe(`before ${REDACTED} after`);
}

const upper = (s: string) => s.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
const lower = (s: string) => s.replace(/%[0-9a-f]{2}/gi, (m) => m.toLowerCase());
const json = (s: string) => JSON.stringify(s).slice(1, -1);

describe('the redactor removes a secret in every form it travels in', () => {
  it('as-is', () => removed(secret));

  it('percent-encoded, in upper, lower and mixed case', () => {
    const encoded = encodeURIComponent(secret);
    removed(upper(encoded));
    removed(lower(encoded));
    removed(encoded.replace(/%2F/, '%2f'));
    // Every character encoded, as some encoders do, and a form body's `+` for a space.
    removed([...Buffer.from(secret)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
    removed(new URLSearchParams({ x: secret }).toString().slice(2));
  });

  it('double- and triple-percent-encoded', () => {
    removed(encodeURIComponent(encodeURIComponent(secret)));
    removed(lower(encodeURIComponent(encodeURIComponent(encodeURIComponent(secret)))));
  });

  it('base64 and base64url, alone or inside something encoded (Basic auth)', () => {
    removed(Buffer.from(secret).toString('base64'));
    removed(Buffer.from(secret).toString('base64url'));
    for (const user of ['u', 'us', 'use', 'user']) {
      const basic = Buffer.from(`${user}:${secret}`).toString('base64');
      expect(redact(`Authorization: Basic ${basic}`)).not.toContain(
        Buffer.from(secret).toString('base64').slice(4, 16),
      );
      // What is left cannot be decoded back to the secret.
      const left = redact(basic).replace(REDACTED, '');
      expect(Buffer.from(left, 'base64').toString('utf8')).not.toContain(secret.slice(0, 6));
    }
  });

  it('JSON-escaped, nested and double-escaped', () => {
    removed(json(secret));
    removed(json(json(secret)));
    removed(json(json(json(secret))));
    const nested = JSON.stringify({ log: JSON.stringify({ error: `auth ${secret}` }) });
    expect(redact(nested)).not.toMatch(/Pw/);
    expect(JSON.parse(JSON.parse(redact(nested)).log).error).toBe(`auth ${REDACTED}`);
  });

  it('JSON with \\u escapes (ASCII-only encoders) and HTML entities', () => {
    const ascii = [...secret]
      .map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
      .join('');
    removed(ascii);
    removed(ascii.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => `\\u${hex.toUpperCase()}`));
    removed(secret.replace(/&/g, '&amp;').replace(/"/g, '&quot;'));
  });

  it('several secrets, the longer first, and the secret half of a token', () => {
    const token = '7001002:AAVeryDistinctiveSecretHalf_0123456789';
    const r = createRedactor([token, token.split(':')[1]!, 'redis-pass-XYZ']);
    expect(r(`a ${token} b ${token.split(':')[1]} c ${encodeURIComponent('redis-pass-XYZ')}`)).toBe(
      `a ${REDACTED} b ${REDACTED} c ${REDACTED}`,
    );
  });

  it('leaves ordinary text alone', () => {
    const text = 'deploy #12 of 0123abc to production: P w / q, %20 and base64 aGVsbG8=';
    expect(redact(text)).toBe(text);
    expect(createRedactor([])('nothing to hide')).toBe('nothing to hide');
  });

  it('redacts every string of a value, keys included', () => {
    expect(redactDeep({ a: [secret, 1, { [secret]: `x${secret}` }], n: null }, redact)).toEqual({
      a: [REDACTED, 1, { [REDACTED]: `x${REDACTED}` }],
      n: null,
    });
  });
});
