import { latestStatuses } from './check-json.js';
import { GITHUB_COMMITTER } from './commit-json.js';
import type { StandInCore } from './core.js';
import { customValidation, GitHubApiError, invalidField, missingField, notFound } from './errors.js';
import { type PullDetail, pullJson } from './pull-json.js';
import type { PullRecord } from './state.js';
import { emitPullRequest, emitPush } from './webhook-events.js';

export type MergeMethod = 'merge' | 'squash' | 'rebase';

interface Verdict {
  /** Required checks (from a check plan) that are not green, with GitHub's word for why. */
  readonly blocking: ReadonlyArray<{ name: string; why: 'failing' | 'expected' }>;
  /** Any check or status, required or not, that is not green. */
  readonly unstable: boolean;
}

/** What the latest check run per name and the latest status per context say about `sha`. */
export function checksVerdict(core: StandInCore, sha: string): Verdict {
  const latestRuns = new Map<string, { done: boolean; ok: boolean; required: boolean }>();
  for (const run of core.state.checkRuns.filter((r) => r.headSha === sha)) {
    latestRuns.set(run.name, {
      done: run.status === 'completed',
      ok: run.conclusion === 'success',
      required: run.required,
    });
  }
  const checks = [
    ...[...latestRuns].map(([name, r]) => ({ name, ...r })),
    ...latestStatuses(core.state.statuses.filter((s) => s.sha === sha)).map((s) => ({
      name: s.context,
      done: s.state !== 'pending',
      ok: s.state === 'success',
      required: s.required,
    })),
  ];
  return {
    blocking: checks
      .filter((c) => c.required && !(c.done && c.ok))
      .map((c) => ({ name: c.name, why: c.done ? ('failing' as const) : ('expected' as const) })),
    unstable: checks.some((c) => !(c.done && c.ok)),
  };
}

/**
 * Brings an open pull request up to its branches' tips; a moved head gets the default check
 * plan and a `synchronize` webhook, as a push to a pull request's branch does on GitHub.
 */
export async function refreshPull(core: StandInCore, pr: PullRecord): Promise<void> {
  if (pr.state !== 'open') return;
  const [head, base] = await Promise.all([core.repo.branchSha(pr.head), core.repo.branchSha(pr.base)]);
  if (base) pr.baseSha = base;
  if (head && head !== pr.headSha) {
    const before = pr.headSha;
    pr.headSha = head;
    pr.updatedAt = core.timestamp();
    core.background(core.planner.applyDefault(head));
    const detail = await pullDetail(core, pr, { observe: false });
    core.background(emitPullRequest(core, 'synchronize', pr, detail, { before, after: head }));
  }
}

/**
 * The full pull request's counts and mergeability. GitHub computes mergeability in the
 * background: the first observation after the base or head changed answers null and starts a
 * real trial merge (git merge-tree); later observations get its answer.
 */
export async function pullDetail(
  core: StandInCore,
  pr: PullRecord,
  options: { observe: boolean },
): Promise<PullDetail> {
  const mergeBase = (await core.repo.mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha;
  const [commits, changes] = await Promise.all([
    core.repo.countBetween(pr.baseSha, pr.headSha),
    core.repo.changes(mergeBase, pr.headSha),
  ]);
  const counts = {
    commits,
    additions: changes.reduce((sum, c) => sum + c.additions, 0),
    deletions: changes.reduce((sum, c) => sum + c.deletions, 0),
    changedFiles: changes.length,
  };
  if (pr.state !== 'open') return { ...counts, mergeable: null, rebaseable: null, mergeableState: 'unknown' };

  const key = `${pr.baseSha}:${pr.headSha}`;
  const known = pr.mergeability;
  let mergeable: boolean | null = null;
  if (known.key === key) {
    if (known.computing) await known.computing;
    mergeable = known.value;
  } else if (options.observe) {
    const entry: PullRecord['mergeability'] = { key, value: null };
    entry.computing = core.repo
      .mergeTree(pr.baseSha, pr.headSha)
      .then(({ clean }) => {
        entry.value = clean;
      })
      .finally(() => {
        entry.computing = undefined;
      });
    core.background(entry.computing);
    pr.mergeability = entry;
  }
  let mergeableState = 'unknown';
  if (mergeable === false) mergeableState = 'dirty';
  else if (mergeable === true) {
    const verdict = checksVerdict(core, pr.headSha);
    mergeableState = verdict.blocking.length > 0 ? 'blocked' : verdict.unstable ? 'unstable' : 'clean';
  }
  return { ...counts, mergeable, rebaseable: mergeable, mergeableState };
}

function branchOf(core: StandInCore, head: string): string | undefined {
  const colon = head.indexOf(':');
  if (colon === -1) return head;
  return head.slice(0, colon) === core.site.owner ? head.slice(colon + 1) : undefined;
}

/** POST /pulls: GitHub's checks and messages, then the `opened` webhook and the default CI. */
export async function createPull(
  core: StandInCore,
  input: {
    title?: unknown;
    head?: unknown;
    base?: unknown;
    body?: unknown;
    draft?: unknown;
    maintainer_can_modify?: unknown;
  },
): Promise<PullRecord> {
  if (typeof input.head !== 'string' || input.head === '') throw missingField('PullRequest', 'head');
  if (typeof input.base !== 'string' || input.base === '') throw missingField('PullRequest', 'base');
  if (typeof input.title !== 'string' || input.title === '') throw missingField('PullRequest', 'title');
  const head = branchOf(core, input.head);
  const base = input.base;
  return core.exclusive(async () => {
    const [headSha, baseSha] = await Promise.all([
      head ? core.repo.branchSha(head) : undefined,
      core.repo.branchSha(base),
    ]);
    if (!baseSha) throw invalidField('PullRequest', 'base');
    if (!head || !headSha) throw invalidField('PullRequest', 'head');
    if (core.state.pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
      throw customValidation('PullRequest', `A pull request already exists for ${core.site.owner}:${head}.`);
    }
    if ((await core.repo.countBetween(baseSha, headSha)) === 0) {
      throw customValidation('PullRequest', `No commits between ${base} and ${head}`);
    }
    const at = core.timestamp();
    const pr: PullRecord = {
      number: core.state.nextPullNumber(),
      id: core.state.nextId('pull'),
      title: input.title as string,
      body: typeof input.body === 'string' ? input.body : null,
      head,
      base,
      state: 'open',
      draft: input.draft === true,
      user: core.actor,
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      headSha,
      baseSha,
      maintainerCanModify: input.maintainer_can_modify !== false,
      mergeability: { key: '', value: null },
    };
    core.state.pulls.push(pr);
    const detail = await pullDetail(core, pr, { observe: false });
    core.background(
      emitPullRequest(core, 'opened', pr, detail).then(() => core.planner.applyDefault(headSha)),
    );
    return pr;
  });
}

/** PATCH /pulls/{n}: title, body, base, and closing or reopening. */
export async function updatePull(
  core: StandInCore,
  pr: PullRecord,
  input: { title?: unknown; body?: unknown; state?: unknown; base?: unknown },
): Promise<void> {
  await core.exclusive(async () => {
    await refreshPull(core, pr);
    if (input.state !== undefined && input.state !== 'open' && input.state !== 'closed') {
      throw invalidField('PullRequest', 'state');
    }
    if (input.base !== undefined) {
      if (typeof input.base !== 'string' || !(await core.repo.branchSha(input.base))) {
        throw invalidField('PullRequest', 'base');
      }
      if (pr.state === 'open') {
        pr.base = input.base;
        await refreshPull(core, pr);
      }
    }
    if (typeof input.title === 'string' && input.title !== '') pr.title = input.title;
    if (typeof input.body === 'string' || input.body === null) pr.body = input.body;
    const at = core.timestamp();
    if (input.state === 'closed' && pr.state === 'open') {
      pr.state = 'closed';
      pr.closedAt = at;
      const detail = await pullDetail(core, pr, { observe: false });
      core.background(emitPullRequest(core, 'closed', pr, detail));
    } else if (input.state === 'open' && pr.state === 'closed') {
      if (pr.mergedAt)
        throw customValidation('PullRequest', 'state cannot be changed. The pull request has been merged.');
      if (
        core.state.pulls.some(
          (p) => p !== pr && p.state === 'open' && p.head === pr.head && p.base === pr.base,
        )
      ) {
        throw customValidation(
          'PullRequest',
          `A pull request already exists for ${core.site.owner}:${pr.head}.`,
        );
      }
      pr.state = 'open';
      pr.closedAt = null;
      await refreshPull(core, pr);
    }
    pr.updatedAt = at;
  });
}

function notMergeable(): GitHubApiError {
  return new GitHubApiError(405, 'Pull Request is not mergeable');
}

/**
 * PUT /pulls/{n}/merge with real git on the base branch. Answers like GitHub and never forces:
 * 409 when `sha` is not the head, 405 when it is closed, conflicted or blocked by required checks.
 */
export async function mergePull(
  core: StandInCore,
  pr: PullRecord,
  input: { sha?: unknown; merge_method?: unknown; commit_title?: unknown; commit_message?: unknown },
): Promise<string> {
  const method = (input.merge_method ?? 'merge') as MergeMethod;
  if (!['merge', 'squash', 'rebase'].includes(method)) throw invalidField('PullRequest', 'merge_method');
  return core.exclusive(async () => {
    await refreshPull(core, pr);
    if (pr.state !== 'open') throw notMergeable();
    if (typeof input.sha === 'string' && input.sha !== pr.headSha) {
      throw new GitHubApiError(409, 'Head branch was modified. Review and try the merge again.');
    }
    const blocked = checksVerdict(core, pr.headSha).blocking[0];
    if (blocked) throw new GitHubApiError(405, `Required status check "${blocked.name}" is ${blocked.why}.`);
    const { baseSha, headSha } = pr;
    const trial = await core.repo.mergeTree(baseSha, headSha);
    pr.mergeability = { key: `${baseSha}:${headSha}`, value: trial.clean };
    if (!trial.clean) throw notMergeable();

    const at = Math.floor(core.now() / 1000);
    const committer = { ...GITHUB_COMMITTER, at };
    const author = {
      name: core.actor.login,
      // GitHub would write "[bot]" into the address, which is not a valid e-mail (and fails its own schema).
      email: `${core.actor.id}+${core.actor.login.replace('[bot]', '')}@users.noreply.github.com`,
      at,
    };
    const commits = await core.repo.commitsBetween(baseSha, headSha);
    const title =
      typeof input.commit_title === 'string' && input.commit_title !== '' ? input.commit_title : undefined;
    const message = typeof input.commit_message === 'string' ? input.commit_message : undefined;
    let merged: string | undefined;
    if (method === 'merge') {
      const text = `${title ?? `Merge pull request #${pr.number} from ${core.site.owner}/${pr.head}`}\n\n${message ?? pr.title}`;
      merged = await core.repo.commitTree(trial.tree, [baseSha, headSha], text, author, committer);
    } else if (method === 'squash') {
      const list = commits.map((c) => `* ${c.message}`).join('\n\n');
      merged = await core.repo.commitTree(
        trial.tree,
        [baseSha],
        `${title ?? `${pr.title} (#${pr.number})`}\n\n${message ?? list}`,
        author,
        committer,
      );
    } else {
      merged = await core.repo.replay(
        baseSha,
        commits.filter((c) => c.parents.length === 1),
        committer,
      );
      if (!merged) throw notMergeable();
    }
    // What a read answered until now, and what lagging replicas go on answering for a while.
    const before = pullJson(
      core.site,
      pr,
      await core.repositoryJson(),
      await pullDetail(core, pr, { observe: false }),
    );
    if (!(await core.repo.compareAndSwapRef(`refs/heads/${pr.base}`, merged, baseSha))) {
      throw new GitHubApiError(409, 'Base branch was modified. Review and try the merge again.');
    }
    const iso = core.timestamp();
    pr.state = 'closed';
    pr.mergedAt = iso;
    pr.closedAt = iso;
    pr.updatedAt = iso;
    pr.mergedBy = core.actor;
    pr.mergeCommitSha = merged;
    pr.beforeMerge = before;
    core.pushedAt = iso;
    const landed = await core.repo.commitsBetween(baseSha, merged);
    const detail = await pullDetail(core, pr, { observe: false });
    core.background(
      emitPush(core, { ref: `refs/heads/${pr.base}`, before: baseSha, after: merged, commits: landed }).then(
        () => emitPullRequest(core, 'closed', pr, detail),
      ),
    );
    return merged;
  });
}

/** The pull request with this number, or GitHub's 404. */
export function findPull(core: StandInCore, raw: string): PullRecord {
  const pr = /^\d+$/.test(raw) ? core.state.pull(Number(raw)) : undefined;
  if (!pr) throw notFound();
  return pr;
}
