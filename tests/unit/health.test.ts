import { describe, expect, it } from 'vitest';
import { checkHealth } from '../../src/http/health.js';

const ok = async () => {};

describe('checkHealth', () => {
  it('is ok only when the database, Redis and Telegram all are', async () => {
    expect(await checkHealth({ db: ok, redis: ok, telegram: () => ({ ok: true }) })).toEqual({
      status: 'ok',
      db: 'ok',
      redis: 'ok',
      telegram: 'ok',
    });
  });

  it('names what is down and why', async () => {
    const report = await checkHealth({
      db: async () => {
        throw new Error('connection refused');
      },
      redis: ok,
      telegram: () => ({ ok: false, reason: 'rejected: 401 Unauthorized' }),
    });
    expect(report).toEqual({
      status: 'unavailable',
      db: 'down: connection refused',
      redis: 'ok',
      telegram: 'down: rejected: 401 Unauthorized',
    });
  });

  it('gives up on a check that never answers instead of hanging', async () => {
    const report = await checkHealth(
      { db: ok, redis: () => new Promise<void>(() => {}), telegram: () => ({ ok: true }) },
      200,
    );
    expect(report).toEqual({
      status: 'unavailable',
      db: 'ok',
      redis: 'down: no answer within 200 ms',
      telegram: 'ok',
    });
  });

  it('counts a ready standby as healthy and says so', async () => {
    const report = await checkHealth({
      db: ok,
      redis: ok,
      telegram: () => ({ ok: true, note: 'standby (waiting)' }),
    });
    expect(report).toEqual({ status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok: standby (waiting)' });
  });
});
