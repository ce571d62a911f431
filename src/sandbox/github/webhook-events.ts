import { type Account, userJson } from './account-json.js';
import {
  checkRunJson,
  checkSuiteJson,
  simpleCommitJson,
  statusJson,
  workflowJson,
  workflowRunJson,
} from './check-json.js';
import { commitJson } from './commit-json.js';
import type { StandInCore } from './core.js';
import type { CommitInfo } from './git-repository.js';
import type { hookJson } from './hook-json.js';
import { type PullDetail, pullJson } from './pull-json.js';
import { repoHtmlUrl } from './site.js';
import type { CheckRunRecord, CheckSuiteRecord, PullRecord, StatusRecord } from './state.js';

// Webhook payloads name the repository's times in epoch seconds where REST uses ISO strings (push only).
function epoch(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** organization-simple, for the organisation that owns the repository. */
function organizationJson(core: StandInCore, owner: ReturnType<typeof userJson>) {
  const url = `${core.site.apiUrl}/orgs/${core.site.owner}`;
  return {
    login: owner.login,
    id: owner.id,
    node_id: owner.node_id,
    url,
    repos_url: `${url}/repos`,
    events_url: `${url}/events`,
    hooks_url: `${url}/hooks`,
    issues_url: `${url}/issues`,
    members_url: `${url}/members{/member}`,
    public_members_url: `${url}/public_members{/member}`,
    avatar_url: owner.avatar_url,
    description: null,
  };
}

async function common(core: StandInCore) {
  return { repository: await core.repositoryJson(), sender: userJson(core.site, core.actor) };
}

/** push: a branch moved from `before` to `after` (created when before is all zeros); `by` who pushed. */
export async function emitPush(
  core: StandInCore,
  push: { ref: string; before: string; after: string; commits: readonly CommitInfo[]; by?: Account },
): Promise<void> {
  if (!core.webhooks.enabled) return;
  const { repository, sender: tokenSender } = await common(core);
  const sender = push.by ? userJson(core.site, push.by) : tokenSender;
  const html = repoHtmlUrl(core.site);
  const created = /^0+$/.test(push.before);
  const forced = !created && !(await core.repo.isAncestor(push.before, push.after));
  const commits = [];
  for (const commit of push.commits) {
    const changes = await core.repo.changes(commit.parents[0], commit.sha);
    const names = (status: string) => changes.filter((c) => c.status === status).map((c) => c.filename);
    commits.push({
      ...simpleCommitJson(commit),
      distinct: true,
      url: `${html}/commit/${commit.sha}`,
      author: { ...simpleCommitJson(commit).author, username: commitJson(core.site, commit).author.login },
      committer: {
        ...simpleCommitJson(commit).committer,
        username: commitJson(core.site, commit).committer.login,
      },
      added: names('added'),
      removed: names('removed'),
      modified: changes.filter((c) => !['added', 'removed'].includes(c.status)).map((c) => c.filename),
    });
  }
  core.webhooks.send('push', {
    ref: push.ref,
    before: push.before,
    after: push.after,
    repository: {
      ...repository,
      created_at: epoch(repository.created_at),
      pushed_at: epoch(repository.pushed_at),
      master_branch: repository.default_branch,
      stargazers: 0,
    },
    pusher: { name: (push.by ?? core.actor).login, email: null },
    organization: organizationJson(core, repository.owner),
    sender,
    created,
    deleted: false,
    forced,
    base_ref: null,
    compare: created
      ? `${html}/commit/${push.after.slice(0, 12)}`
      : `${html}/compare/${push.before.slice(0, 12)}...${push.after.slice(0, 12)}`,
    commits,
    head_commit: commits.at(-1) ?? null,
  });
}

/**
 * pull_request with `action` (opened, closed, reopened, synchronize); `by` is who did it when
 * not the token's account (a person, a fork's owner pushing to it).
 */
export async function emitPullRequest(
  core: StandInCore,
  action: 'opened' | 'closed' | 'reopened' | 'synchronize',
  pr: PullRecord,
  detail: PullDetail,
  moved?: { before: string; after: string },
  by?: Account,
): Promise<void> {
  if (!core.webhooks.enabled) return;
  // The pull request as it is at the event: a close and a reopen in quick succession each
  // send their own state, not the one the record has by the time the payload is built.
  const at = { ...pr };
  const { repository, sender } = await common(core);
  core.webhooks.send('pull_request', {
    action,
    number: pr.number,
    ...(moved ?? {}),
    pull_request: pullJson(core.site, at, repository, detail),
    repository,
    sender: by ? userJson(core.site, by) : sender,
  });
}

/** check_suite with `action` (requested, completed). */
export async function emitCheckSuite(
  core: StandInCore,
  action: 'requested' | 'completed',
  suite: CheckSuiteRecord,
): Promise<void> {
  if (!core.webhooks.enabled) return;
  const { repository, sender } = await common(core);
  const headCommit = await core.repo.commit(suite.headSha);
  const runs = core.state.checkRuns.filter((r) => r.suiteId === suite.id).length;
  const pulls = core.openPullsAt(suite.headSha);
  core.webhooks.send('check_suite', {
    action,
    check_suite: checkSuiteJson(core.site, suite, { headCommit, repository, runs, pulls }),
    repository,
    sender,
  });
}

/** workflow_run with `action` (requested, completed): one per check plan. */
export async function emitWorkflowRun(
  core: StandInCore,
  action: 'requested' | 'completed',
  suite: CheckSuiteRecord,
): Promise<void> {
  if (!core.webhooks.enabled) return;
  const { repository, sender } = await common(core);
  const headCommit = await core.repo.commit(suite.headSha);
  const pulls = core.openPullsAt(suite.headSha);
  core.webhooks.send('workflow_run', {
    action,
    workflow_run: workflowRunJson(core.site, suite, { headCommit, repository, pulls, actor: sender }),
    workflow: workflowJson(core.site),
    repository,
    sender,
  });
}

/** check_run with `action` (created, completed). */
export async function emitCheckRun(
  core: StandInCore,
  action: 'created' | 'completed',
  run: CheckRunRecord,
  suite: CheckSuiteRecord,
): Promise<void> {
  if (!core.webhooks.enabled) return;
  const { repository, sender } = await common(core);
  const headCommit = await core.repo.commit(run.headSha);
  const pulls = core.openPullsAt(run.headSha);
  const suiteJson = checkSuiteJson(core.site, suite, {
    headCommit,
    repository,
    runs: core.state.checkRuns.filter((r) => r.suiteId === suite.id).length,
    pulls,
  });
  const { repository: _omitted, ...checkSuite } = suiteJson;
  core.webhooks.send('check_run', {
    action,
    check_run: { ...checkRunJson(core.site, run, pulls), check_suite: checkSuite },
    repository,
    sender,
  });
}

/** status: a commit status was created. */
export async function emitStatus(core: StandInCore, status: StatusRecord): Promise<void> {
  if (!core.webhooks.enabled) return;
  const { repository, sender } = await common(core);
  const commit = await core.repo.commit(status.sha);
  const branches = (await core.repo.branches())
    .filter((b) => b.sha === status.sha)
    .map((b) => ({
      name: b.name,
      commit: {
        sha: b.sha,
        url: `${core.site.apiUrl}/repos/${core.site.owner}/${core.site.name}/commits/${b.sha}`,
      },
      protected: false,
    }));
  const json = statusJson(core.site, status);
  core.webhooks.send('status', {
    id: status.id,
    sha: status.sha,
    name: `${core.site.owner}/${core.site.name}`,
    target_url: status.targetUrl,
    avatar_url: json.avatar_url,
    context: status.context,
    description: status.description,
    state: status.state,
    commit: commitJson(core.site, commit),
    branches,
    created_at: status.createdAt,
    updated_at: status.createdAt,
    repository,
    sender,
  });
}

/** ping: sent to a hook right after it is created. */
export async function emitPing(core: StandInCore, hook: ReturnType<typeof hookJson>): Promise<void> {
  const { repository, sender } = await common(core);
  core.webhooks.send(
    'ping',
    { zen: 'Keep it logically awesome.', hook_id: hook.id, hook, repository, sender },
    hook.id,
  );
}
