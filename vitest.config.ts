import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files wait on Docker, health checks and timers rather than on the CPU: three at a
    // time on CI's two cores (vitest's default there is one, which made a run sequential).
    maxWorkers: 3,
    reporters: ['default'],
  },
});
