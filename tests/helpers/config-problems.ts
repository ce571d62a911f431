import { expect } from 'vitest';
import { ConfigError, type ConfigProblem, createConfig } from '../../src/config/index.js';

/** Every problem createConfig finds in `env`; none when it parses. Anything else it throws fails the test. */
export function problemsOf(env: Record<string, string | undefined>): readonly ConfigProblem[] {
  try {
    createConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}
