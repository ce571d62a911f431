import { describe, expect, it } from 'vitest';
import type { TestSpecification } from 'vitest/node';
import SECONDS from '../../helpers/file-seconds.json' with { type: 'json' };
import HeavyFirstSequencer from '../../helpers/heavy-first-sequencer.js';

/** Files as vitest sees them on a fresh clone: no earlier results, only their sizes. */
function sequencerOver(sizes: Record<string, number>) {
  const ctx = {
    config: { root: '/r' },
    cache: {
      getFileTestResults: () => undefined,
      getFileStats: (key: string) => ({ size: sizes[key.slice(1)] ?? 0 }),
    },
  };
  const specs = Object.keys(sizes).map((file) => ({
    moduleId: `/r/${file}`,
    project: { name: '', config: { sequence: { groupOrder: 0 }, isolate: true } },
  }));
  return { sequencer: new HeavyFirstSequencer(ctx as never), specs: specs as unknown as TestSpecification[] };
}

describe('the order test files start in', () => {
  it('the files file-seconds.json lists first, longest first, then the rest by vitest’s own order (larger first)', async () => {
    const { sequencer, specs } = sequencerOver({
      'tests/unit/small.test.ts': 900,
      'tests/e2e/self-deploy-faults-switch.test.ts': 400,
      'tests/integration/big.test.ts': 20_000,
      'tests/e2e/self-deploy.test.ts': 5_000,
      'tests/e2e/promote.test.ts': 12_000,
      'tests/e2e/self-deploy-faults-steps.test.ts': 500,
      'tests/integration/medium.test.ts': 9_000,
    });
    const seconds = (file: string) => (SECONDS as Record<string, number>)[file] ?? 0;
    // As measured: the fault steps file is the longest of these, promote the shortest listed.
    expect(seconds('tests/e2e/self-deploy-faults-steps.test.ts')).toBeGreaterThan(
      seconds('tests/e2e/self-deploy.test.ts'),
    );
    expect(seconds('tests/e2e/self-deploy.test.ts')).toBeGreaterThan(
      seconds('tests/e2e/self-deploy-faults-switch.test.ts'),
    );
    expect(seconds('tests/e2e/self-deploy-faults-switch.test.ts')).toBeGreaterThan(
      seconds('tests/e2e/promote.test.ts'),
    );
    expect(seconds('tests/e2e/promote.test.ts')).toBeGreaterThan(4);
    expect((await sequencer.sort(specs)).map((s) => s.moduleId.slice('/r/'.length))).toEqual([
      'tests/e2e/self-deploy-faults-steps.test.ts',
      'tests/e2e/self-deploy.test.ts',
      'tests/e2e/self-deploy-faults-switch.test.ts',
      'tests/e2e/promote.test.ts',
      'tests/integration/big.test.ts',
      'tests/integration/medium.test.ts',
      'tests/unit/small.test.ts',
    ]);
  });
});
