// The forge lugh promotes on (GitHub today), as the rest of lugh sees it: plain data and
// the named errors of errors.ts, nothing of the forge's own client.

export interface RepoRef {
  readonly owner: string;
  readonly name: string;
}

export interface CommitSummary {
  readonly sha: string;
  readonly title: string;
  readonly author: string;
  /** When the commit was written (its author date), when the forge says. */
  readonly authoredAt?: Date;
}

export interface Comparison {
  /** ahead: head has commits base lacks; identical/behind: nothing to promote. */
  readonly status: 'ahead' | 'behind' | 'diverged' | 'identical';
  readonly aheadBy: number;
  readonly behindBy: number;
  /** Newest first; the forge may list fewer than aheadBy (GitHub: the newest 250). */
  readonly commits: readonly CommitSummary[];
  readonly filesChanged: number;
  /** The forge stopped listing files at its cap (GitHub: 300): at least filesChanged changed. */
  readonly filesCapped?: boolean;
  readonly headSha: string;
}

export interface PullRequestInfo {
  readonly number: number;
  readonly url: string;
  readonly state: 'open' | 'closed';
  readonly merged: boolean;
  /** null: the forge is still computing it; ask again. */
  readonly mergeable: boolean | null;
  /**
   * GitHub's word for what a merge would meet: clean, unstable, has_hooks (it would merge),
   * dirty (conflicts), draft, blocked (reviews or required checks missing), behind (strict
   * protection and the head lacks the base's tip), unknown (still computing: ask again).
   * `mergeable: true` alone does not mean the merge will be accepted.
   */
  readonly mergeableState: string;
  readonly draft: boolean;
  /** The commit the merge made on the base branch, once merged. */
  readonly mergeCommitSha: string | null;
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
}

export interface OpenedPull {
  readonly pull: PullRequestInfo;
  /** false: a pull request for the same head and base was already open, and is reused. */
  readonly created: boolean;
}

export type CheckState = 'pending' | 'success' | 'failure';

export interface CheckLine {
  readonly name: string;
  /** check_run: a CI run (what GitHub Actions reports); status: an older-style commit status. */
  readonly kind: 'check_run' | 'status';
  readonly state: CheckState;
  /** The forge's own word: queued, in_progress, success, failure, timed_out, … */
  readonly detail: string;
  readonly url?: string;
}

export interface CiState {
  /** none: no check run and no status reported (yet) for this commit. */
  readonly overall: CheckState | 'none';
  readonly checks: readonly CheckLine[];
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface MergeOptions {
  /** The head that was approved: the merge fails with HeadMovedError if it moved. */
  readonly sha: string;
  readonly method: MergeMethod;
  readonly title?: string;
}

/** What merging into a branch requires, as its protection says. */
export interface BranchRules {
  /** false: the token may not read the protection (GitHub needs administration read for it). */
  readonly readable: boolean;
  /** Approving reviews a pull request needs; 0 when none are required. */
  readonly requiredApprovals: number;
  /** Check runs or commit statuses (by name) that must succeed on the head. */
  readonly requiredChecks: readonly string[];
  /** The head must contain the branch's tip ("require branches to be up to date"). */
  readonly strict: boolean;
}

export interface TagsAt {
  readonly tags: string[];
  /** false: the search stopped at its limit before the end of the tag list. */
  readonly complete: boolean;
}

export interface ReleaseInfo {
  readonly id: number;
  readonly url: string;
  readonly tag: string;
}

/** A deployment recorded on the forge; `payload.lugh` marks the ones lugh asked for. */
export interface ForgeDeployment {
  readonly id: number;
  readonly sha: string;
  readonly ref: string;
  readonly environment: string;
  readonly createdAt: Date;
  readonly payload: Record<string, unknown>;
  /** The login of the account that created it, when the forge says. */
  readonly creator?: string;
}

/** A pull request as a list of them shows it (previews reconcile from these). */
export interface PullSummary {
  readonly number: number;
  readonly url: string;
  readonly state: 'open' | 'closed';
  readonly merged: boolean;
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
  /** The login of who opened it. */
  readonly author: string;
  /** The head lives in another repository (a fork): its code is not the team's. */
  readonly fork: boolean;
  readonly updatedAt: Date;
}

/** How a deployment is recorded besides its environment. */
export interface DeploymentOptions {
  /** GitHub's transient_environment: it goes away (a preview), and GitHub may mark it inactive. */
  readonly transient?: boolean;
}

export type ForgeDeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/** What lugh does on the forge for one repository; every failure surfaces as an error of errors.ts. */
export interface Forge {
  readonly repo: RepoRef;

  /** The commit a branch points at. */
  branchSha(branch: string): Promise<string>;
  /**
   * The full SHA of the commit `ref` names: a SHA (short or full), a branch or a tag.
   * NotFoundError when the forge knows no single commit by it (unknown, or a short SHA that
   * names several).
   */
  resolveCommit(ref: string): Promise<string>;
  /** True when `sha` is `branch`'s head or an ancestor of it; false also for a commit the forge does not know. */
  isAncestor(sha: string, branch: string): Promise<boolean>;
  /** What `headRef` has that `baseRef` lacks. */
  compare(baseRef: string, headRef: string): Promise<Comparison>;
  findOpenPull(baseRef: string, headRef: string): Promise<PullRequestInfo | undefined>;
  /** Opens head → base, or returns the pull request already open for it. */
  openOrReusePull(baseRef: string, headRef: string, title: string, body: string): Promise<OpenedPull>;
  updatePullBody(number: number, body: string): Promise<void>;
  pull(number: number): Promise<PullRequestInfo>;
  /**
   * The pull request and its head's CI in one read (GitHub: one GraphQL query, where REST takes
   * three); like `pull`, it makes the forge compute mergeability.
   */
  pullWithCi(number: number): Promise<{ readonly pull: PullRequestInfo; readonly ci: CiState }>;
  /** What merging into `branch` requires (none of it when the branch is not protected). */
  branchRules(branch: string): Promise<BranchRules>;
  /** Reviewers whose latest verdict on the pull request approves it. */
  approvals(number: number): Promise<number>;
  /**
   * Brings the pull request's head branch up to date with its base by merging the base into
   * it: GitHub's update-branch, which moves the branch shortly after it answers. NotMergeableError
   * when it cannot (a conflict, nothing to update), HeadMovedError when the head is not `expectedHeadSha`.
   */
  updatePullBranch(number: number, expectedHeadSha: string): Promise<void>;
  /**
   * Merges `head` (a branch or commit) into the branch `base` with a merge commit: its SHA,
   * or undefined when `base` already contains `head`. NotMergeableError on a conflict.
   */
  mergeBranch(base: string, head: string, message: string): Promise<string | undefined>;
  /**
   * Points `branch` at `sha` even when that is not a fast-forward. NotMergeableError when the
   * forge refuses (a protected branch that forbids force pushes).
   */
  moveBranch(branch: string, sha: string): Promise<void>;
  /** CI runs and commit statuses of one commit, collapsed into one state. */
  ciState(sha: string): Promise<CiState>;
  /**
   * Merges exactly the approved head, never retried and never forced: HeadMovedError when
   * the head moved since approval, NotMergeableError when the forge will not merge it.
   */
  merge(number: number, options: MergeOptions): Promise<{ sha: string }>;
  /** The source of one commit as a gzipped tar, for image builds. */
  tarball(sha: string): Promise<Buffer>;
  /** The tags pointing at a commit, searching at most `maxTags` tags. */
  tagsAt(sha: string, maxTags?: number): Promise<TagsAt>;
  /**
   * The git tree a commit records: two commits with the same tree have the same files (a
   * merge commit that changes nothing has the tree of the branch it merged).
   */
  commitTree(sha: string): Promise<string>;
  /**
   * The deploy's service file (`lugh.yml` at the repository's root) at a commit, as text;
   * undefined when the commit has none.
   */
  serviceFile(sha: string): Promise<string | undefined>;
  /** A file at the repository's root (or below) at a commit, as text; undefined when the commit has none (`lugh.anonymise.yml`). */
  repoFile(sha: string, path: string): Promise<string | undefined>;
  /** When a commit was made: its committer date (for a merge, when it was merged). */
  commitDate(sha: string): Promise<Date>;
  /**
   * The highest `vX.Y.Z` tag (the latest version), or undefined when there is none: what
   * the next release tag follows. Not the forge's newest release by date.
   */
  latestReleaseTag(): Promise<string | undefined>;
  /**
   * A release of `sha` tagged `tag`, with notes generated since `previousTag`; a tag that
   * exists on another commit is never reused (ConflictError).
   */
  createRelease(tag: string, sha: string, previousTag?: string): Promise<ReleaseInfo>;
  /**
   * A release of `sha` tagged `next(highest vX.Y.Z tag)`, with notes since that tag: the
   * tag listing that finds the highest tag also tells whether the new one exists (never
   * reused, ConflictError), so it costs one request fewer than the two calls above.
   */
  releaseNext(sha: string, next: (latest: string | undefined) => string): Promise<ReleaseInfo>;
  createDeployment(
    sha: string,
    environment: string,
    description: string,
    payload?: Record<string, unknown>,
    options?: DeploymentOptions,
  ): Promise<{ id: number }>;
  /** The newest deployments of an environment, newest first. */
  listDeployments(environment: string, perPage?: number): Promise<ForgeDeployment[]>;
  /** `environmentUrl`: where the deployment can be seen (GitHub shows it as "View deployment"). */
  setDeploymentStatus(
    deploymentId: number,
    state: ForgeDeploymentState,
    description: string,
    environmentUrl?: string,
  ): Promise<void>;
  /** The open pull requests into `baseRef`, every page. */
  listOpenPulls(baseRef: string): Promise<PullSummary[]>;
  /** One pull request as a list shows it. NotFoundError when there is none. */
  pullSummary(number: number): Promise<PullSummary>;
  /** A new comment on a pull request (an issue comment); its id. */
  createComment(number: number, body: string): Promise<{ id: number }>;
  /** Replaces a comment's text. NotFoundError when it was deleted. */
  updateComment(commentId: number, body: string): Promise<void>;
}
