// The order vitest starts test files in: the long end-to-end files first, then vitest's own
// order. Without a cache of earlier runs (CI's fresh clone) vitest starts larger files first,
// and the self-deploy fault files are a few lines each (their cases live in a helper), so
// they started last and ran on alone at the end while the other worker sat idle. Started
// first, the short files fill in beside them. Only the order changes: no test is skipped.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longer first: each file's weight by its path (the first pattern that matches). */
const HEAVY: readonly (readonly [RegExp, number])[] = [
  [/tests\/e2e\/self-deploy-faults-[^/]+\.test\.ts$/, 3],
  [/tests\/e2e\/self-deploy[^/]*\.test\.ts$/, 2],
  [/tests\/e2e\//, 1],
];

const weightOf = (spec: TestSpecification) =>
  HEAVY.find(([pattern]) => pattern.test(spec.moduleId.replaceAll('\\', '/')))?.[1] ?? 0;

export default class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    // Array.prototype.sort is stable: within one weight, vitest's order stays.
    return ordered.sort((a, b) => weightOf(b) - weightOf(a));
  }
}
