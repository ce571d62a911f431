import { defineConfig } from 'vitest/config';
import HeavyFirstSequencer from './tests/helpers/heavy-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files wait on Docker, health checks and timers rather than on the CPU: two at a
    // time on CI's two cores (vitest's default there is one, which made a run sequential;
    // three at a time was faster but two full runs each had a timing-sensitive failure).
    maxWorkers: 2,
    // The longest files start first (their durations: tests/helpers/file-seconds.json), so that
    // no long one runs on alone at the end.
    sequence: { sequencer: HeavyFirstSequencer },
    reporters: ['default'],
  },
});
