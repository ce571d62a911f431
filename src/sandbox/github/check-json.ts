import { actionsAppJson, userJson } from './account-json.js';
import type { CommitInfo } from './git-repository.js';
import type { repositoryJson } from './repository-json.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';
import type { CheckRunRecord, CheckSuiteRecord, PullRecord, StatusRecord } from './state.js';

type Repository = ReturnType<typeof repositoryJson>;

export const WORKFLOW = { id: 61_234_567, name: 'CI', path: '.github/workflows/ci.yml' };

/** pull-request-minimal: how check runs and suites point at the open pull requests of their head. */
export function pullRequestMinimalJson(site: Site, pr: PullRecord) {
  const api = repoApiUrl(site);
  const repo = { id: site.repoId, url: api, name: site.name };
  return {
    url: `${api}/pulls/${pr.number}`,
    id: pr.id,
    number: pr.number,
    head: { ref: pr.head, sha: pr.headSha, repo },
    base: { ref: pr.base, sha: pr.baseSha, repo },
  };
}

/** check-run */
export function checkRunJson(site: Site, run: CheckRunRecord, pulls: readonly PullRecord[]) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const done = run.status === 'completed';
  return {
    id: run.id,
    name: run.name,
    node_id: nodeId('CR', run.id),
    head_sha: run.headSha,
    external_id: '',
    url: `${api}/check-runs/${run.id}`,
    html_url: `${html}/actions/runs/${run.suiteId}/job/${run.id}`,
    details_url: `${html}/actions/runs/${run.suiteId}/job/${run.id}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: done ? `${run.name}: ${run.conclusion}` : null,
      summary: done ? `The job ${run.conclusion === 'success' ? 'succeeded' : 'did not succeed'}.` : null,
      text: null,
      annotations_count: 0,
      annotations_url: `${api}/check-runs/${run.id}/annotations`,
    },
    check_suite: { id: run.suiteId },
    app: actionsAppJson(site),
    pull_requests: pulls.map((pr) => pullRequestMinimalJson(site, pr)),
  };
}

/** simple-commit, as check suites and webhooks describe a head commit. */
export function simpleCommitJson(commit: CommitInfo) {
  return {
    id: commit.sha,
    tree_id: commit.tree,
    message: commit.message,
    timestamp: commit.committer.date,
    author: { name: commit.author.name, email: commit.author.email },
    committer: { name: commit.committer.name, email: commit.committer.email },
  };
}

/** check-suite */
export function checkSuiteJson(
  site: Site,
  suite: CheckSuiteRecord,
  extra: { headCommit: CommitInfo; repository: Repository; runs: number; pulls: readonly PullRecord[] },
) {
  const api = repoApiUrl(site);
  return {
    id: suite.id,
    node_id: nodeId('CS', suite.id),
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    status: suite.status,
    conclusion: suite.conclusion,
    url: `${api}/check-suites/${suite.id}`,
    before: extra.headCommit.parents[0] ?? null,
    after: suite.headSha,
    pull_requests: extra.pulls.map((pr) => pullRequestMinimalJson(site, pr)),
    app: actionsAppJson(site),
    repository: extra.repository,
    created_at: suite.createdAt,
    updated_at: suite.updatedAt,
    rerequestable: true,
    runs_rerequestable: false,
    latest_check_runs_count: extra.runs,
    check_runs_url: `${api}/check-suites/${suite.id}/check-runs`,
    head_commit: simpleCommitJson(extra.headCommit),
  };
}

/** status (and simple-commit-status, its subset) */
export function statusJson(site: Site, status: StatusRecord) {
  const creator = userJson(site, status.creator);
  return {
    url: `${repoApiUrl(site)}/statuses/${status.sha}`,
    avatar_url: creator.avatar_url,
    id: status.id,
    node_id: nodeId('SC', status.id),
    state: status.state,
    description: status.description,
    target_url: status.targetUrl,
    context: status.context,
    created_at: status.createdAt,
    updated_at: status.createdAt,
    creator,
  };
}

/** The latest status per context, newest first: what GitHub combines. */
export function latestStatuses(statuses: readonly StatusRecord[]): StatusRecord[] {
  const seen = new Set<string>();
  const latest: StatusRecord[] = [];
  for (const status of [...statuses].reverse()) {
    if (seen.has(status.context)) continue;
    seen.add(status.context);
    latest.push(status);
  }
  return latest;
}

/** combined-commit-status: failure beats pending beats success; no status at all is pending. */
export function combinedStatusJson(
  site: Site,
  sha: string,
  statuses: readonly StatusRecord[],
  repository: Repository,
) {
  const latest = latestStatuses(statuses);
  const state = latest.some((s) => s.state === 'failure' || s.state === 'error')
    ? 'failure'
    : latest.length === 0 || latest.some((s) => s.state === 'pending')
      ? 'pending'
      : 'success';
  const api = repoApiUrl(site);
  return {
    state,
    statuses: latest.map((s) => {
      const { creator: _creator, ...simple } = statusJson(site, s);
      return simple;
    }),
    sha,
    total_count: latest.length,
    repository,
    commit_url: `${api}/commits/${sha}`,
    url: `${api}/commits/${sha}/status`,
  };
}

/** The Actions workflow run a check suite stands for (webhooks only; the REST routes are not served). */
export function workflowRunJson(
  site: Site,
  suite: CheckSuiteRecord,
  extra: {
    headCommit: CommitInfo;
    repository: Repository;
    pulls: readonly PullRecord[];
    actor: ReturnType<typeof userJson>;
  },
) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const runUrl = `${api}/actions/runs/${suite.workflowRunId}`;
  return {
    id: suite.workflowRunId,
    name: WORKFLOW.name,
    node_id: nodeId('WFR', suite.workflowRunId),
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    path: WORKFLOW.path,
    display_title: extra.headCommit.message.split('\n', 1)[0] ?? '',
    run_number: suite.runNumber,
    event: extra.pulls.length > 0 ? 'pull_request' : 'push',
    status: suite.status === 'completed' ? 'completed' : suite.status === 'queued' ? 'queued' : 'in_progress',
    conclusion: suite.conclusion,
    workflow_id: WORKFLOW.id,
    check_suite_id: suite.id,
    check_suite_node_id: nodeId('CS', suite.id),
    url: runUrl,
    html_url: `${html}/actions/runs/${suite.workflowRunId}`,
    pull_requests: extra.pulls.map((pr) => pullRequestMinimalJson(site, pr)),
    created_at: suite.createdAt,
    updated_at: suite.updatedAt,
    actor: extra.actor,
    triggering_actor: extra.actor,
    run_attempt: 1,
    referenced_workflows: [],
    run_started_at: suite.createdAt,
    jobs_url: `${runUrl}/jobs`,
    logs_url: `${runUrl}/logs`,
    check_suite_url: `${api}/check-suites/${suite.id}`,
    artifacts_url: `${runUrl}/artifacts`,
    cancel_url: `${runUrl}/cancel`,
    rerun_url: `${runUrl}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${api}/actions/workflows/${WORKFLOW.id}`,
    head_commit: simpleCommitJson(extra.headCommit),
    repository: extra.repository,
    head_repository: extra.repository,
  };
}

/** The workflow itself, as workflow_run webhooks carry it. */
export function workflowJson(site: Site) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  return {
    id: WORKFLOW.id,
    node_id: nodeId('W', WORKFLOW.id),
    name: WORKFLOW.name,
    path: WORKFLOW.path,
    state: 'active',
    created_at: site.createdAt,
    updated_at: site.createdAt,
    url: `${api}/actions/workflows/${WORKFLOW.id}`,
    html_url: `${html}/blob/main/${WORKFLOW.path}`,
    badge_url: `${html}/workflows/${WORKFLOW.name}/badge.svg`,
  };
}
