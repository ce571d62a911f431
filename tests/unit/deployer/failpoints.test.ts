import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

  it('reads names and counts', () => {
    expect([...parseFailpoints(' step:build, switch:after-stop*2 ,')]).toEqual([
      ['step:build', Number.POSITIVE_INFINITY],
      ['switch:after-stop', 2],
    ]);
    expect(parseFailpoints(undefined).size).toBe(0);
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
