import type { CheckLine, CiState } from './forge.js';

/** Collapses CI runs and commit statuses into one state: any failure fails, any pending waits. */
export function summarizeChecks(checks: readonly CheckLine[]): CiState['overall'] {
  if (checks.length === 0) return 'none';
  if (checks.some((c) => c.state === 'failure')) return 'failure';
  if (checks.some((c) => c.state === 'pending')) return 'pending';
  return 'success';
}
