import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/redact.js';

describe('createRedactor', () => {
  const token = '123456789:AAH-fake/token+with=odd_chars';
  const redact = createRedactor([token, token.split(':')[1]!, 'pw"q']);

  it('removes a secret as-is, URL-encoded and JSON-escaped', () => {
    const text = `url https://api.example/bot${token}/getMe enc ${encodeURIComponent(token)} json ${JSON.stringify({ p: 'pw"q' })}`;
    const out = redact(text);
    expect(out).not.toContain('AAH-fake');
    expect(out).not.toContain('pw\\"q');
    expect(out).toBe('url https://api.example/bot[redacted]/getMe enc [redacted] json {"p":"[redacted]"}');
  });

  it('removes the secret half of a token on its own', () => {
    expect(redact(`secret ${token.split(':')[1]} end`)).toBe('secret [redacted] end');
  });

  it('removes anything shaped like a bot token, even one it was not given (another bot’s)', () => {
    const other = '7654321:AAOtherBotSecret_abcdefghijklmnopqrstu';
    expect(redact(`request to http://x/bot${other}/getMe failed`)).toBe(
      'request to http://x/bot[redacted]/getMe failed',
    );
    expect(createRedactor([])(`token ${other}`)).toBe('token [redacted]');
    // A bot id alone, a time or a digest is not a token.
    expect(redact('bot 7654321 at 12:30, sha256:0123abcd')).toBe('bot 7654321 at 12:30, sha256:0123abcd');
  });

  it('leaves text alone when there are no secrets', () => {
    expect(createRedactor([])('nothing to hide')).toBe('nothing to hide');
  });
});
