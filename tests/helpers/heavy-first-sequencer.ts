// The order vitest starts test files in: the longest first, so that no long file starts
// late and runs on alone at the end while the other worker sits idle (a Swarm file that
// started last once ran alone for its last 6 minutes). Without a cache of earlier runs (CI's
// fresh clone) vitest starts larger files first, which says little: the self-deploy fault
// files are a few lines each (their cases live in a helper). So each file's weight is its
// duration in a full run on a quiet machine (file-seconds.json: every file that took 5 s or
// more; refresh it from a run's per-file times when files grow), and a file not listed
// (a short one, or a new one) weighs 4 s. Only the order changes: no test is skipped.
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SECONDS: Readonly<Record<string, number>> = JSON.parse(
  readFileSync(new URL('./file-seconds.json', import.meta.url), 'utf8'),
);
const UNLISTED_SECONDS = 4;

const weightOf = (spec: TestSpecification) => {
  const file = spec.moduleId.replaceAll('\\', '/');
  const listed = Object.keys(SECONDS).find((path) => file.endsWith(`/${path}`));
  return listed === undefined ? UNLISTED_SECONDS : (SECONDS[listed] ?? UNLISTED_SECONDS);
};

export default class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    // Array.prototype.sort is stable: within one weight, vitest's order stays.
    return ordered.sort((a, b) => weightOf(b) - weightOf(a));
  }
}
