import { checkRunState, summarizeChecks } from '../ci-summary.js';
import type { CheckLine, CheckState, CiState } from '../forge.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** GitHub's largest page. */
const PER_PAGE = 100;

interface CheckRun {
  readonly id: number;
  readonly name: string;
  readonly started_at?: string | null;
  readonly app?: { readonly id: number } | null;
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
  const state: CheckState = checkRunState(run.status, run.conclusion);
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

/**
 * The latest run of each check (name and app), by start and then id. `filter=latest` dedupes
 * only within one check suite: a re-run, a reopened pull request, a `pull_request: edited`
 * event or workflow_dispatch adds a suite, and the older suite's run (a failure too) stays
 * listed beside the new one.
 */
export function latestRuns<T extends CheckRun>(runs: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const run of runs) {
    const key = `${run.app?.id ?? ''}\x00${run.name}`;
    const seen = latest.get(key);
    if (!seen || isLater(run, seen)) latest.set(key, run);
  }
  return [...latest.values()];
}

function isLater(a: CheckRun, b: CheckRun): boolean {
  const at = (run: CheckRun) => Date.parse(run.started_at ?? '') || Number.NEGATIVE_INFINITY;
  if (at(a) !== at(b)) return at(a) > at(b);
  return a.id > b.id;
}

/** How often a paged list that moved while paging is read. */
const READS = 3;

/**
 * Reads a paged list until it holds together: when fewer distinct items came than the last
 * page's total_count, the list moved while paging (GitHub lists the newest first, so a run
 * created meanwhile shifts the pages and lands on one already read), and it is read again
 * (unchanged pages cost nothing: each is a conditional request). At most READS times.
 */
async function readWhole<T>(read: () => Promise<{ items: Map<unknown, T>; total: number }>): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    const { items, total } = await read();
    if (items.size >= total || attempt === READS) return [...items.values()];
  }
}

/**
 * Every page of the commit's check runs, 100 a page (GitHub's most), each page a conditional
 * request of its own (the client's ETag cache). A run listed on two pages counts once.
 */
function allCheckRuns({ octokit, base }: GitHubRepo, sha: string): Promise<CheckRun[]> {
  return readWhole(async () => {
    const items = new Map<number, CheckRun>();
    let total = 0;
    try {
      const pages = octokit.paginate.iterator(octokit.rest.checks.listForRef, {
        ...base,
        ref: sha,
        per_page: PER_PAGE,
      });
      for await (const { data } of pages) {
        for (const run of data) items.set(run.id, run);
        total = data.total_count;
      }
    } catch (error) {
      throw classifyGitHubError(error);
    }
    return { items, total };
  });
}

/**
 * Every page of the combined status (the latest status of each context), by hand: Octokit's
 * paginate leaves this answer whole (it carries `url`), though its types say otherwise.
 */
function allStatuses({ octokit, base }: GitHubRepo, sha: string): Promise<CommitStatus[]> {
  return readWhole(async () => {
    const items = new Map<string, CommitStatus>();
    let total = 0;
    for (let page = 1; ; page++) {
      const { data } = await classified(() =>
        octokit.rest.repos.getCombinedStatusForRef({ ...base, ref: sha, per_page: PER_PAGE, page }),
      );
      for (const status of data.statuses) items.set(status.context, status);
      total = data.total_count;
      if (data.statuses.length < PER_PAGE || page * PER_PAGE >= total) break;
    }
    return { items, total };
  });
}

/** Check runs (what Actions reports) and commit statuses (older CI) of one commit. */
export async function ciState(repo: GitHubRepo, sha: string): Promise<CiState> {
  const [runs, statuses] = await Promise.all([allCheckRuns(repo, sha), allStatuses(repo, sha)]);
  const checks: CheckLine[] = [...latestRuns(runs).map(checkRunLine), ...statuses.map(statusLine)];
  checks.sort((a, b) => a.name.localeCompare(b.name));
  return { overall: summarizeChecks(checks), checks };
}
