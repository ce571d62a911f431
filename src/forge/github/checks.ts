import { summarizeChecks } from '../ci-summary.js';
import type { CheckLine, CheckState, CiState } from '../forge.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

const FAILED_CONCLUSIONS = new Set([
  'failure',
  'timed_out',
  'cancelled',
  'action_required',
  'startup_failure',
  'stale',
]);

interface CheckRun {
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly html_url: string | null;
  readonly details_url: string | null;
}

interface CommitStatus {
  readonly context: string;
  readonly state: string;
  readonly target_url: string | null;
}

function checkRunLine(run: CheckRun): CheckLine {
  const state: CheckState =
    run.status !== 'completed'
      ? 'pending'
      : FAILED_CONCLUSIONS.has(run.conclusion ?? '')
        ? 'failure'
        : 'success';
  return {
    name: run.name,
    kind: 'check_run',
    state,
    detail: run.status === 'completed' ? (run.conclusion ?? 'completed') : run.status,
    url: run.html_url ?? run.details_url ?? undefined,
  };
}

function statusLine(s: CommitStatus): CheckLine {
  return {
    name: s.context,
    kind: 'status',
    state: s.state === 'pending' ? 'pending' : s.state === 'success' ? 'success' : 'failure',
    detail: s.state,
    url: s.target_url ?? undefined,
  };
}

/** Check runs (what Actions reports) and commit statuses (older CI) of one commit. */
export async function ciState({ octokit, base }: GitHubRepo, sha: string): Promise<CiState> {
  const [runs, statuses] = await Promise.all([
    classified(() => octokit.rest.checks.listForRef({ ...base, ref: sha, per_page: 100 })),
    classified(() => octokit.rest.repos.getCombinedStatusForRef({ ...base, ref: sha, per_page: 100 })),
  ]);
  const checks: CheckLine[] = [
    ...runs.data.check_runs.map(checkRunLine),
    ...statuses.data.statuses.map(statusLine),
  ];
  checks.sort((a, b) => a.name.localeCompare(b.name));
  return { overall: summarizeChecks(checks), checks };
}
