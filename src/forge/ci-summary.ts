import type { CheckLine, CiState } from './forge.js';

/** Collapses CI runs and commit statuses into one state: any failure fails, any pending waits. */
export function summarizeChecks(checks: readonly CheckLine[]): CiState['overall'] {
  if (checks.length === 0) return 'none';
  if (checks.some((c) => c.state === 'failure')) return 'failure';
  if (checks.some((c) => c.state === 'pending')) return 'pending';
  return 'success';
}

/** What GitHub calls a failed check run's conclusion. */
const FAILED_CONCLUSIONS = new Set([
  'failure',
  'timed_out',
  'cancelled',
  'action_required',
  'startup_failure',
  'stale',
]);

/** A check run's state from its status and conclusion, as GitHub reports them. */
export function checkRunState(status: string, conclusion: string | null): CheckLine['state'] {
  if (status !== 'completed') return 'pending';
  return FAILED_CONCLUSIONS.has(conclusion ?? '') ? 'failure' : 'success';
}
