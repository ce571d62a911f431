import { describe, expect, it } from 'vitest';
import { latestRuns } from '../../../src/forge/github/checks.js';

const run = (id: number, name: string, started_at: string | null, appId = 15368) => ({
  id,
  name,
  started_at,
  app: { id: appId },
  status: 'completed',
  conclusion: 'success',
  html_url: null,
  details_url: null,
});

describe('latestRuns', () => {
  it('keeps the run of each name that started last, whatever the order GitHub lists them in', () => {
    const runs = [
      run(3, 'build', '2026-11-30T10:00:00Z'),
      run(9, 'build', '2026-11-30T10:05:00Z'),
      run(5, 'lint', '2026-11-30T10:01:00Z'),
    ];
    expect(latestRuns(runs).map((r) => r.id)).toEqual([9, 5]);
    expect(latestRuns([...runs].reverse()).map((r) => r.id)).toEqual([5, 9]);
  });

  it('breaks a tie of start times (GitHub gives seconds) by the higher id, the run created later', () => {
    expect(
      latestRuns([run(7, 'build', '2026-11-30T10:00:00Z'), run(4, 'build', '2026-11-30T10:00:00Z')]).map(
        (r) => r.id,
      ),
    ).toEqual([7]);
  });

  it('keeps same-named checks of different apps apart: each app reports its own check', () => {
    const runs = [
      run(1, 'build', '2026-11-30T10:00:00Z', 15368),
      run(2, 'build', '2026-11-30T09:00:00Z', 777),
    ];
    expect(latestRuns(runs).map((r) => r.id)).toEqual([1, 2]);
  });
});
