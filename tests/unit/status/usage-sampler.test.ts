import { describe, expect, it } from 'vitest';
import type { ContainerUsage } from '../../../src/deployer/container-facts.js';
import { createUsageSampler } from '../../../src/status/usage-sampler.js';

describe('the background usage sampler', () => {
  const clock = (start = Date.parse('2026-11-30T12:00:00Z')) => {
    let t = start;
    return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
  };

  it('keeps the last sample of each target, so /status reads it without asking Docker', async () => {
    const c = clock();
    let asked = 0;
    const sampler = createUsageSampler({
      targets: async () => ['a', 'b'],
      sample: async (name) => {
        asked++;
        return { cpuPercent: name === 'a' ? 1 : 2, cpuWindowMs: 15_000, memoryBytes: 10 };
      },
      now: c.now,
    });
    expect(sampler.latest('a')).toBeUndefined();
    await sampler.sampleNow();
    expect(asked).toBe(2);
    expect(sampler.latest('a')).toEqual({ cpuPercent: 1, cpuWindowMs: 15_000, memoryBytes: 10, at: c.now() });
    // Reading costs nothing.
    sampler.latest('b');
    expect(asked).toBe(2);
  });

  it('a pass without CPU keeps the last CPU figure (with its time) and takes the new memory', async () => {
    const c = clock();
    const answers: ContainerUsage[] = [
      { cpuPercent: 3, cpuWindowMs: 15_000, memoryBytes: 10 },
      { memoryBytes: 20, usageWhy: 'CPU needs a second sample, none within 1400 ms' },
    ];
    const sampler = createUsageSampler({
      targets: async () => ['a'],
      sample: async () => answers.shift(),
      now: c.now,
    });
    await sampler.sampleNow();
    const first = c.now();
    c.advance(15_000);
    await sampler.sampleNow();
    expect(sampler.latest('a')).toEqual({ cpuPercent: 3, cpuWindowMs: 15_000, memoryBytes: 20, at: first });
  });

  it('a failing look is kept as why; a stopped container has no usage', async () => {
    const c = clock();
    const sampler = createUsageSampler({
      targets: async () => ['gone', 'stopped'],
      sample: async (name) => {
        if (name === 'gone') throw new Error('there is no container gone');
        return undefined;
      },
      now: c.now,
    });
    await sampler.sampleNow();
    expect(sampler.latest('gone')).toEqual({ usageWhy: 'there is no container gone', at: c.now() });
    expect(sampler.latest('stopped')).toBeUndefined();
  });

  it('starts with the instance (a first pass at once) and stops with it (no pass after)', async () => {
    let passes = 0;
    const sampler = createUsageSampler({
      targets: async () => {
        passes++;
        return [];
      },
      sample: async () => undefined,
      everyMs: 5,
    });
    expect(sampler.startedAt()).toBeUndefined();
    sampler.start();
    expect(passes).toBe(1);
    expect(sampler.startedAt()).toBeInstanceOf(Date);
    await expect.poll(() => passes).toBeGreaterThan(2);
    await sampler.stop();
    const stopped = passes;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(passes).toBe(stopped);
  });
});
