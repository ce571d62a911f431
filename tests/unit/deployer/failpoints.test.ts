import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFailpoints, noFailpoints, parseFailpoints } from '../../../src/deployer/failpoints.js';

const settled = async (p: Promise<void>) =>
  Promise.race([p.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('paused'), 50))]);

describe('failpoints', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lugh-fp-test-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads names, counts and pauses', () => {
    const forGood = Number.POSITIVE_INFINITY;
    expect([
      ...parseFailpoints(' step:build, switch:after-stop*2 ,switch:after-rename@20s,verify:during@5s*1'),
    ]).toEqual([
      ['step:build', { times: forGood, pauseMs: forGood }],
      ['switch:after-stop', { times: 2, pauseMs: forGood }],
      ['switch:after-rename', { times: forGood, pauseMs: 20_000 }],
      ['verify:during', { times: 1, pauseMs: 5_000 }],
    ]);
    expect(parseFailpoints(undefined).size).toBe(0);
  });

  it('refuse what they cannot read, naming it', () => {
    for (const bad of ['switch:after-stop*', 'switch:after-stop@20', 'switch:after-stop*1@20s', '@5s'])
      expect(() => parseFailpoints(bad)).toThrow(bad);
  });

  it('armed with @Ns, pause N seconds, then go on', async () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const fp = createFailpoints('switch:after-stop@20s*1', {
        dir: freshDir(),
        write: (l) => lines.push(l),
      });
      let passed = false;
      const reached = fp.reach('switch:after-stop').then(() => {
        passed = true;
      });
      await vi.advanceTimersByTimeAsync(19_999);
      expect(passed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await reached;
      expect(lines).toEqual(['failpoint switch:after-stop reached', 'failpoint switch:after-stop passed']);
      // Fired once: the next time it goes on at once.
      let again = false;
      void fp.reach('switch:after-stop').then(() => {
        again = true;
      });
      await vi.advanceTimersByTimeAsync(0);
      expect(again).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('are inert when unset', async () => {
    expect(createFailpoints(undefined)).toBe(noFailpoints);
    expect(createFailpoints('')).toBe(noFailpoints);
    expect(await settled(createFailpoints('step:build').reach('step:health'))).toBe('resolved');
  });

  it('pause and say so when armed, at most N times, counted on across processes', async () => {
    const dir = freshDir();
    const lines: string[] = [];
    const write = (l: string) => lines.push(l);
    const first = createFailpoints('switch:after-stop*2', { dir, write });
    expect(await settled(first.reach('switch:after-stop'))).toBe('paused');
    // A restarted process reads the count its predecessor left.
    const second = createFailpoints('switch:after-stop*2', { dir, write });
    expect(await settled(second.reach('switch:after-stop'))).toBe('paused');
    expect(await settled(second.reach('switch:after-stop'))).toBe('resolved');
    expect(lines).toEqual(['failpoint switch:after-stop reached', 'failpoint switch:after-stop reached']);
  });
});
