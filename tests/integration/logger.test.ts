import { Api, HttpError } from 'grammy';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../../src/sandbox/free-port.js';

const TOKEN = '4242424:AASecretHalfThatMustNeverBeLogged_xyz';

describe('createLogger', () => {
  it('redacts the token from a real network error whose message carries the request URL', async () => {
    const api = new Api(TOKEN, { apiRoot: `http://127.0.0.1:${await freePort()}` });
    const error = await api.getMe().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    // The unredacted error does carry the token: that is what makes this test meaningful.
    const raw = JSON.stringify({
      message: (error as HttpError).message,
      inner: String((error as HttpError).error),
      stack: (error as Error).stack,
    });
    expect(raw.includes(TOKEN) || raw.includes(TOKEN.split(':')[1]!)).toBe(true);

    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      secrets: [TOKEN, TOKEN.split(':')[1]!],
      destination: { write: (line: string) => lines.push(line) },
    });
    logger.error({ err: error, cause: (error as HttpError).error }, `getMe failed at bot${TOKEN}`);
    const out = lines.join('');
    expect(out).not.toContain(TOKEN.split(':')[1]);
    expect(out).toContain('[redacted]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, msg: 'getMe failed at bot[redacted]' });
  });

  it('censors secret-looking fields by name', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      secrets: [],
      destination: { write: (l: string) => lines.push(l) },
    });
    logger.info({ request: { headers: { authorization: 'Bearer abc' }, password: 'pw' } }, 'call');
    expect(JSON.parse(lines[0]!).request).toEqual({
      headers: { authorization: '[redacted]' },
      password: '[redacted]',
    });
  });
});
