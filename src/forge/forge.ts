import { RequestError } from 'octokit';
import { classifyGitHubError, HeadMovedError, NotMergeableError } from './errors.js';
import type { GitHubClient } from './github/github-client.js';

export interface RepoRef {
  readonly owner: string;
  readonly name: string;
}

export interface CommitSummary {
  readonly sha: string;
  readonly title: string;
  readonly author: string;
}

export interface Comparison {
  /** ahead: head has commits base lacks; identical/behind: nothing to promote. */
  readonly status: 'ahead' | 'behind' | 'diverged' | 'identical';
  readonly aheadBy: number;
  readonly behindBy: number;
  readonly commits: readonly CommitSummary[];
  readonly filesChanged: number;
  readonly headSha: string;
}

export interface PullRequestInfo {
  readonly number: number;
  readonly url: string;
  readonly state: 'open' | 'closed';
  readonly merged: boolean;
  /** null: GitHub is still computing it; ask again. */
  readonly mergeable: boolean | null;
  readonly mergeableState: string;
  /** The commit the merge made on the base branch, once merged. */
  readonly mergeCommitSha: string | null;
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
}

export type CheckState = 'pending' | 'success' | 'failure';

export interface CheckLine {
  readonly name: string;
  readonly kind: 'check_run' | 'status';
  readonly state: CheckState;
  /** GitHub's own word: queued, in_progress, success, failure, timed_out, … */
  readonly detail: string;
  readonly url?: string;
}

export interface CiState {
  /** none: no check run and no status reported (yet) for this commit. */
  readonly overall: CheckState | 'none';
  readonly checks: readonly CheckLine[];
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

const FAILED_CONCLUSIONS = new Set([
  'failure',
  'timed_out',
  'cancelled',
  'action_required',
  'startup_failure',
  'stale',
]);

/** Collapses check runs and commit statuses into one state: any failure fails, any pending waits. */
export function summarizeChecks(checks: readonly CheckLine[]): CiState['overall'] {
  if (checks.length === 0) return 'none';
  if (checks.some((c) => c.state === 'failure')) return 'failure';
  if (checks.some((c) => c.state === 'pending')) return 'pending';
  return 'success';
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? '';
}

async function github<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyGitHubError(error);
  }
}

/** What lugh does on GitHub for one repository; every failure surfaces as a named error. */
/** A GitHub Deployment as lugh reads it; `payload.lugh` marks the ones lugh asked for. */
export interface GitHubDeployment {
  readonly id: number;
  readonly sha: string;
  readonly ref: string;
  readonly environment: string;
  readonly createdAt: Date;
  readonly payload: Record<string, unknown>;
}

export function createForge(client: GitHubClient, repo: RepoRef) {
  const { octokit } = client;
  const base = { owner: repo.owner, repo: repo.name };

  return {
    repo,

    async branchSha(branch: string): Promise<string> {
      const { data } = await github(() => octokit.rest.repos.getBranch({ ...base, branch }));
      return data.commit.sha;
    },

    async compare(baseRef: string, headRef: string): Promise<Comparison> {
      const { data } = await github(() =>
        octokit.rest.repos.compareCommitsWithBasehead({ ...base, basehead: `${baseRef}...${headRef}` }),
      );
      // GitHub lists commits oldest first; a promotion shows the newest first.
      const commits = [...data.commits].reverse().map((c) => ({
        sha: c.sha,
        title: firstLine(c.commit.message),
        author: c.author?.login ?? c.commit.author?.name ?? 'unknown',
      }));
      const headSha = data.commits.at(-1)?.sha ?? data.merge_base_commit.sha;
      return {
        status: data.status,
        aheadBy: data.ahead_by,
        behindBy: data.behind_by,
        commits,
        filesChanged: data.files?.length ?? 0,
        headSha,
      };
    },

    async findOpenPull(baseRef: string, headRef: string): Promise<PullRequestInfo | undefined> {
      const { data } = await github(() =>
        octokit.rest.pulls.list({ ...base, state: 'open', base: baseRef, head: `${repo.owner}:${headRef}` }),
      );
      const pr = data[0];
      return pr ? this.pull(pr.number) : undefined;
    },

    /** Opens head → base, or returns the pull request already open for it. */
    async openOrReusePull(baseRef: string, headRef: string, title: string, body: string) {
      const existing = await this.findOpenPull(baseRef, headRef);
      if (existing) return { pull: existing, created: false };
      try {
        const { data } = await octokit.rest.pulls.create({
          ...base,
          base: baseRef,
          head: headRef,
          title,
          body,
        });
        return { pull: await this.pull(data.number), created: true };
      } catch (error) {
        // Lost a race with another opener: GitHub says one already exists.
        if (error instanceof RequestError && error.status === 422) {
          const raced = await this.findOpenPull(baseRef, headRef);
          if (raced) return { pull: raced, created: false };
        }
        throw classifyGitHubError(error);
      }
    },

    async updatePullBody(number: number, body: string): Promise<void> {
      await github(() => octokit.rest.pulls.update({ ...base, pull_number: number, body }));
    },

    async pull(number: number): Promise<PullRequestInfo> {
      const { data } = await github(() => octokit.rest.pulls.get({ ...base, pull_number: number }));
      return {
        number: data.number,
        url: data.html_url,
        state: data.state as 'open' | 'closed',
        merged: data.merged,
        mergeable: data.mergeable,
        mergeableState: data.mergeable_state,
        mergeCommitSha: data.merged ? data.merge_commit_sha : null,
        headSha: data.head.sha,
        headRef: data.head.ref,
        baseRef: data.base.ref,
      };
    },

    /** Check runs (what Actions reports) and commit statuses (older CI) of one commit. */
    async ciState(sha: string): Promise<CiState> {
      const [runs, statuses] = await Promise.all([
        github(() => octokit.rest.checks.listForRef({ ...base, ref: sha, per_page: 100 })),
        github(() => octokit.rest.repos.getCombinedStatusForRef({ ...base, ref: sha, per_page: 100 })),
      ]);
      const checks: CheckLine[] = [
        ...runs.data.check_runs.map((run): CheckLine => {
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
        }),
        ...statuses.data.statuses.map(
          (s): CheckLine => ({
            name: s.context,
            kind: 'status',
            state: s.state === 'pending' ? 'pending' : s.state === 'success' ? 'success' : 'failure',
            detail: s.state,
            url: s.target_url ?? undefined,
          }),
        ),
      ];
      checks.sort((a, b) => a.name.localeCompare(b.name));
      return { overall: summarizeChecks(checks), checks };
    },

    /**
     * Merges exactly the approved head. Never retried and never forced: 409 means the head
     * moved since approval, 405 that GitHub will not merge it.
     */
    async merge(number: number, options: { sha: string; method: MergeMethod; title?: string }) {
      try {
        const { data } = await octokit.rest.pulls.merge({
          ...base,
          pull_number: number,
          sha: options.sha,
          merge_method: options.method,
          commit_title: options.title,
          request: { retries: 0 },
        });
        return { sha: data.sha };
      } catch (error) {
        if (error instanceof RequestError && error.status === 409) {
          throw new HeadMovedError(`the pull request's head is no longer ${options.sha.slice(0, 7)}`);
        }
        if (error instanceof RequestError && error.status === 405) {
          const message =
            (error.response?.data as { message?: string } | undefined)?.message ?? error.message;
          throw new NotMergeableError(message);
        }
        throw classifyGitHubError(error);
      }
    },

    /** The source of one commit as a gzipped tar (GitHub's tarball), for image builds. */
    async tarball(sha: string): Promise<Buffer> {
      const { data } = await github(() => octokit.rest.repos.downloadTarballArchive({ ...base, ref: sha }));
      return Buffer.from(data as ArrayBuffer);
    },

    /**
     * The tags pointing at a commit. GitHub finds no tag by commit, so this reads the tag
     * list in GitHub's order up to `maxTags`; `complete` is false when it stopped before the end.
     */
    async tagsAt(sha: string, maxTags = 300): Promise<{ tags: string[]; complete: boolean }> {
      const tags: string[] = [];
      let seen = 0;
      const pages = octokit.paginate.iterator(octokit.rest.repos.listTags, { ...base, per_page: 100 });
      try {
        for await (const { data } of pages) {
          for (const tag of data) if (tag.commit.sha === sha) tags.push(tag.name);
          seen += data.length;
          if (seen >= maxTags) return { tags, complete: data.length < 100 };
        }
      } catch (error) {
        throw classifyGitHubError(error);
      }
      return { tags, complete: true };
    },

    /** When a commit was made: its committer date (for a merge, when it was merged). */
    async commitDate(sha: string): Promise<Date> {
      const { data } = await github(() => octokit.rest.repos.getCommit({ ...base, ref: sha, per_page: 1 }));
      const date = data.commit.committer?.date ?? data.commit.author?.date;
      if (!date) throw new Error(`GitHub gives no date for commit ${sha.slice(0, 7)}`);
      return new Date(date);
    },

    async latestReleaseTag(): Promise<string | undefined> {
      try {
        const { data } = await octokit.rest.repos.getLatestRelease(base);
        return data.tag_name;
      } catch (error) {
        if (error instanceof RequestError && error.status === 404) return undefined;
        throw classifyGitHubError(error);
      }
    },

    async createRelease(tag: string, sha: string, previousTag?: string) {
      const notes = await github(() =>
        octokit.rest.repos.generateReleaseNotes({
          ...base,
          tag_name: tag,
          target_commitish: sha,
          previous_tag_name: previousTag,
        }),
      );
      const { data } = await github(() =>
        octokit.rest.repos.createRelease({
          ...base,
          tag_name: tag,
          target_commitish: sha,
          name: notes.data.name,
          body: notes.data.body,
        }),
      );
      return { id: data.id, url: data.html_url, tag: data.tag_name };
    },

    async createDeployment(
      sha: string,
      environment: string,
      description: string,
      payload: Record<string, unknown> = {},
    ) {
      const { data } = await github(() =>
        octokit.rest.repos.createDeployment({
          ...base,
          ref: sha,
          environment,
          description,
          payload,
          auto_merge: false,
          required_contexts: [],
          production_environment: environment === 'production',
        }),
      );
      if (!('id' in data))
        throw new Error(`GitHub did not create the deployment: ${data.message ?? 'no reason given'}`);
      return { id: data.id };
    },

    /** The newest deployments of an environment (a conditional request: 304 when none changed). */
    async listDeployments(environment: string, perPage = 10): Promise<GitHubDeployment[]> {
      const { data } = await github(() =>
        octokit.rest.repos.listDeployments({ ...base, environment, per_page: perPage }),
      );
      return data.map((d) => ({
        id: d.id,
        sha: d.sha,
        ref: d.ref,
        environment: d.environment,
        createdAt: new Date(d.created_at),
        payload:
          typeof d.payload === 'object' && d.payload !== null ? (d.payload as Record<string, unknown>) : {},
      }));
    },

    async setDeploymentStatus(
      deploymentId: number,
      state: 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive',
      description: string,
    ): Promise<void> {
      await github(() =>
        octokit.rest.repos.createDeploymentStatus({
          ...base,
          deployment_id: deploymentId,
          state,
          description: description.slice(0, 140),
        }),
      );
    },
  };
}

export type Forge = ReturnType<typeof createForge>;
