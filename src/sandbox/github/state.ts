import type { Account } from './account-json.js';
import type { BranchProtection } from './branch-protection.js';

export type CheckConclusion = 'success' | 'failure' | 'cancelled' | 'timed_out';

export interface PullRecord {
  readonly number: number;
  readonly id: number;
  title: string;
  body: string | null;
  /** The head branch's name (in the fork, for a pull request from one). */
  readonly head: string;
  /**
   * The repository the head lives in when it is not this one (a fork): its commits are
   * in this repository's objects, its tip at refs/pull/{number}/head, as GitHub keeps them.
   */
  readonly headRepo?: { readonly owner: string; readonly name: string };
  base: string;
  state: 'open' | 'closed';
  readonly draft: boolean;
  readonly user: Account;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergedBy: Account | null;
  mergeCommitSha: string | null;
  /** The head and base as last seen; for a closed pull request, as they were when it closed. */
  headSha: string;
  baseSha: string;
  readonly maintainerCanModify: boolean;
  /**
   * GitHub computes mergeability in the background: null until it has, for this base and head
   * (and, with `lagReads`, for that many more reads, as a busy GitHub does).
   */
  mergeability: { key: string; value: boolean | null; computing?: Promise<void>; lagReads?: number };
  /** The full pull request as reads answered it just before its merge (served by `stale` faults). */
  beforeMerge?: unknown;
}

/** A submitted (or, without an event, pending) pull request review. */
export interface ReviewRecord {
  readonly id: number;
  readonly pullNumber: number;
  readonly user: Account;
  readonly state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'PENDING' | 'DISMISSED';
  readonly body: string;
  /** The head the review was given on. */
  readonly commitId: string;
  readonly submittedAt: string | null;
}

export interface CheckSuiteRecord {
  readonly id: number;
  readonly headSha: string;
  readonly headBranch: string | null;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: CheckConclusion | null;
  readonly createdAt: string;
  updatedAt: string;
  /** The Actions workflow run that this suite stands for. */
  readonly workflowRunId: number;
  readonly runNumber: number;
}

export interface CheckRunRecord {
  readonly id: number;
  readonly suiteId: number;
  readonly headSha: string;
  readonly name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: CheckConclusion | null;
  readonly startedAt: string;
  completedAt: string | null;
}

export interface StatusRecord {
  readonly id: number;
  readonly sha: string;
  readonly state: 'pending' | 'success' | 'failure' | 'error';
  readonly context: string;
  readonly description: string | null;
  readonly targetUrl: string | null;
  readonly createdAt: string;
  readonly creator: Account;
}

export interface ReleaseRecord {
  readonly id: number;
  readonly tagName: string;
  readonly targetCommitish: string;
  readonly name: string | null;
  readonly body: string | null;
  readonly draft: boolean;
  readonly prerelease: boolean;
  readonly createdAt: string;
  readonly publishedAt: string | null;
  readonly author: Account;
  readonly makeLatest: boolean;
}

export interface DeploymentRecord {
  readonly id: number;
  readonly sha: string;
  readonly ref: string;
  readonly task: string;
  readonly environment: string;
  readonly payload: Record<string, unknown> | string;
  readonly description: string | null;
  readonly transientEnvironment: boolean;
  readonly productionEnvironment: boolean;
  readonly creator: Account;
  readonly createdAt: string;
  updatedAt: string;
}

export interface DeploymentStatusRecord {
  readonly id: number;
  readonly deploymentId: number;
  readonly state: 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress';
  readonly description: string;
  readonly environment: string;
  readonly targetUrl: string;
  readonly logUrl: string;
  readonly environmentUrl: string;
  readonly creator: Account;
  readonly createdAt: string;
}

/** A comment in a pull request's conversation (GitHub keeps it as an issue comment). */
export interface CommentRecord {
  readonly id: number;
  readonly issueNumber: number;
  body: string;
  readonly user: Account;
  readonly createdAt: string;
  updatedAt: string;
}

// Distinct ranges keep ids of different kinds apart, like GitHub's.
const ID_BASES = {
  pull: 1_800_000_000,
  review: 2_100_000_000,
  suite: 21_000_000_000,
  run: 28_000_000_000,
  workflowRun: 9_400_000_000,
  status: 31_000_000_000,
  release: 150_000_000,
  deployment: 1_700_000_000,
  deploymentStatus: 2_300_000_000,
  comment: 1_500_000_000,
} as const;

/** Everything the stand-in remembers beyond the git repository itself. */
export class StandInState {
  readonly pulls: PullRecord[] = [];
  readonly reviews: ReviewRecord[] = [];
  readonly checkSuites: CheckSuiteRecord[] = [];
  readonly checkRuns: CheckRunRecord[] = [];
  readonly statuses: StatusRecord[] = [];
  readonly releases: ReleaseRecord[] = [];
  readonly deployments: DeploymentRecord[] = [];
  readonly deploymentStatuses: DeploymentStatusRecord[] = [];
  /** Comments on pull requests; a deleted one is removed. */
  readonly comments: CommentRecord[] = [];
  /** Branch name → its protection; a branch not listed is not protected. */
  readonly protections = new Map<string, BranchProtection>();
  /** Reads that still answer mergeable null after the first one of a new base and head. */
  mergeabilityLagReads = 0;
  private readonly counters = new Map<keyof typeof ID_BASES, number>();
  private runNumber = 0;

  nextId(kind: keyof typeof ID_BASES): number {
    const next = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, next);
    return ID_BASES[kind] + next * 7;
  }

  nextPullNumber(): number {
    return this.pulls.length + 1;
  }

  nextRunNumber(): number {
    this.runNumber += 1;
    return this.runNumber;
  }

  pull(number: number): PullRecord | undefined {
    return this.pulls.find((p) => p.number === number);
  }
}
