// The status service over fake sources: what a slow GitHub does to /status.
import { describe, expect, it } from 'vitest';
import type { CiState, Comparison } from '../../../src/forge/forge.js';
import { type PublishedStatus, recentOr } from '../../../src/status/status-report.js';
import { createStatusService } from '../../../src/status/status-service.js';

const never = () => new Promise<never>(() => {});

describe('/status with a slow GitHub', () => {
  const own = async (): Promise<PublishedStatus> => ({
    env: 'staging',
    startedAt: new Date().toISOString(),
    container: 'lugh-staging-app',
    health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
    at: new Date().toISOString(),
  });
  const service = (compare: () => Promise<Comparison>) =>
    createStatusService({
      env: 'staging',
      own,
      ownContainer: 'lugh-staging-app',
      other: async () => undefined,
      container: async (name) => ({ name, state: 'running' }),
      github: {
        compare,
        branchSha: async () => 'a'.repeat(40),
        ciState: async () => ({ overall: 'success' }) as CiState,
      },
      timeoutMs: 400,
    });

  it('with no earlier answer, a hanging compare is unknown, with why', async () => {
    const report = await service(never).report();
    expect(report.compare).toEqual({ ok: false, why: 'no answer within 400 ms' });
    expect(report.ci).toEqual({ ok: true, value: { overall: 'success' } });
  });

  it('with an earlier answer, a hanging compare gives that one, dated', async () => {
    let hang = false;
    const s = service(async () => (hang ? never() : ({ aheadBy: 3, behindBy: 0 } as Comparison)));
    const first = await s.report();
    expect(first.compare).toEqual({ ok: true, value: { aheadBy: 3, behindBy: 0 } });
    hang = true;
    const second = await s.report();
    expect(second.compare).toMatchObject({ ok: true, value: { aheadBy: 3, behindBy: 0 } });
    expect(second.compare?.ok && second.compare.at).toBeInstanceOf(Date);
  });
});

describe('recentOr', () => {
  it('gives the fresh answer when it comes in time, and a kept one only while it is young', async () => {
    let t = 0;
    const now = () => new Date(t);
    let answer: () => Promise<number> = async () => 1;
    const ask = recentOr(() => answer(), { softMs: 10, keepMs: 60_000, now });
    expect(await ask()).toEqual({ value: 1 });
    answer = async () => 2;
    expect(await ask()).toEqual({ value: 2 });
    answer = never;
    t = 30_000;
    expect(await ask()).toEqual({ value: 2, at: new Date(0) });
    // Older than keepMs: nothing to give but the fresh answer (here, none).
    t = 61_000;
    const late = await Promise.race([
      ask(),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 50)),
    ]);
    expect(late).toBe('waiting');
  });
});

describe('/status with previews', () => {
  const own = async (): Promise<PublishedStatus> => ({
    env: 'staging',
    startedAt: new Date().toISOString(),
    container: 'lugh-staging-app',
    health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
    at: new Date().toISOString(),
  });
  const service = (
    previews?: () => Promise<{ running: number; other: number; failed?: number; max: number }>,
  ) =>
    createStatusService({
      env: 'staging',
      own,
      ownContainer: 'lugh-staging-app',
      other: async () => undefined,
      container: async (name) => ({ name, state: 'running' }),
      previews,
      timeoutMs: 300,
    });

  it('counts them for admins; the short form does not ask', async () => {
    let asked = 0;
    const s = service(async () => {
      asked++;
      return { running: 2, other: 1, failed: 1, max: 3 };
    });
    expect((await s.report()).previews).toEqual({
      ok: true,
      value: { running: 2, other: 1, failed: 1, max: 3 },
    });
    expect((await s.report({ brief: true })).previews).toBeUndefined();
    expect(asked).toBe(1);
  });

  it('a failing or hanging source is unknown, with why, and the rest of the report stands', async () => {
    const failing = await service(async () => {
      throw new Error('the preview store is unreachable');
    }).report();
    expect(failing.previews).toEqual({ ok: false, why: 'the preview store is unreachable' });
    expect(failing.environments[0]!.report.ok).toBe(true);
    const hanging = await service(never).report();
    expect(hanging.previews).toEqual({ ok: false, why: 'no answer within 300 ms' });
    expect(hanging.environments[0]!.report.ok).toBe(true);
  });

  it('no previews source (production, the flag off): no previews line at all', async () => {
    expect((await service().report()).previews).toBeUndefined();
  });
});
