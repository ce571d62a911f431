// What the promotion tells people, as facts: the bot turns each into its message.
import type { CiState, Comparison, PullRequestInfo } from '../forge/forge.js';
import type { Promotion } from '../store/promotions.js';
import type { ButtonRefusal, ForgeProblem, MergeBlocker, RequestRefusal } from './policy.js';

/** A message the promotion sends or edits into one it sent. */
export type PromotionNotice =
  | {
      readonly kind: 'plan';
      readonly comparison: Comparison;
      readonly prUrl: string;
      readonly prNumber: number;
      readonly reused: boolean;
    }
  | { readonly kind: 'ci looking'; readonly headSha: string }
  /** The production bot cannot write to the requester (they never opened it): said before the prompt. */
  | { readonly kind: 'production cannot reach'; readonly bot: string }
  | { readonly kind: 'ci'; readonly promotion: Promotion; readonly ci: CiState }
  | { readonly kind: 'ci failed'; readonly promotion: Promotion; readonly ci: CiState }
  | { readonly kind: 'ci timeout'; readonly headSha: string; readonly timeoutMinutes: number }
  | { readonly kind: 'pull closed'; readonly prNumber: number; readonly merged: boolean }
  | { readonly kind: 'head moved during ci'; readonly headSha: string }
  | { readonly kind: 'not mergeable'; readonly pull: PullRequestInfo }
  /** GitHub's mergeable_state is blocked: main's protection wants more than CI gave. */
  | { readonly kind: 'blocked'; readonly pull: PullRequestInfo; readonly blockers: readonly MergeBlocker[] }
  | { readonly kind: 'draft'; readonly pull: PullRequestInfo }
  /** mergeable_state behind: main's strict protection wants develop up to date; sent with the update button. */
  | { readonly kind: 'behind'; readonly pull: PullRequestInfo; readonly expiresAt: Date; readonly now: Date }
  | { readonly kind: 'updating develop'; readonly by: string; readonly method: 'update-branch' | 'merge' }
  | { readonly kind: 'develop updated'; readonly headSha: string }
  | { readonly kind: 'update refused'; readonly message: string }
  | { readonly kind: 'update failed'; readonly problem: ForgeProblem }
  /** A merge refused because main moved since the prompt (the head did not): develop is behind again. */
  | { readonly kind: 'out of date before merge'; readonly headSha: string }
  | {
      readonly kind: 'prompt';
      readonly promotion: Promotion;
      readonly expiresAt: Date;
      readonly now: Date;
      readonly twoPerson: boolean;
    }
  | { readonly kind: 'approval expired' }
  | { readonly kind: 'merging'; readonly headSha: string; readonly approver: string }
  | { readonly kind: 'approved'; readonly approver: string; readonly mergeSha: string }
  | { readonly kind: 'head moved before merge'; readonly approvedSha: string; readonly headSha: string }
  | { readonly kind: 'merge refused'; readonly message: string }
  | { readonly kind: 'merge failed'; readonly problem: ForgeProblem }
  | { readonly kind: 'merge interrupted'; readonly prNumber: number }
  | {
      readonly kind: 'handed over';
      readonly promotion: Promotion;
      readonly mergeSha: string;
      readonly release?: { readonly url: string; readonly tag: string };
      /** The release tag was wanted but could not be made: why, when the forge said. */
      readonly tagFailed?: { readonly problem?: ForgeProblem; readonly reason?: string };
      readonly deploymentId: number;
      /** The production bot's @username, when its instance has said. */
      readonly productionBot?: string;
    }
  /** After a squash or rebase promotion, develop (unchanged since the promoted head) moved to main. */
  | { readonly kind: 'develop realigned'; readonly mergeSha: string; readonly previousSha: string }
  /** After a squash or rebase promotion, develop could not simply move: a main → develop pull request. */
  | {
      readonly kind: 'back-merge opened';
      readonly why: 'develop moved' | 'develop protected';
      readonly prUrl: string;
      readonly prNumber: number;
      readonly reused: boolean;
    }
  | { readonly kind: 'develop not realigned'; readonly problem?: ForgeProblem; readonly message?: string }
  | { readonly kind: 'declined'; readonly by: string }
  | { readonly kind: 'cancelled'; readonly by: string };

/** A button under a message: what it does, and the opaque data its press carries back. */
export interface Button {
  readonly action: 'approve' | 'decline' | 'update';
  readonly data: string;
}

/** What the promotion needs from the chat: send and edit messages, with buttons. The bot implements it. */
export interface PromotionChat {
  send(chatId: number, notice: PromotionNotice, buttons?: readonly Button[]): Promise<number>;
  /**
   * Editing to the same content is not an error. A message that can no longer be edited
   * (a user deleted it) is sent anew: the answer is the id of the message showing it now.
   */
  edit(
    chatId: number,
    messageId: number,
    notice: PromotionNotice,
    buttons?: readonly Button[],
  ): Promise<number>;
  /** The id a chat lives at now (a group that became a supergroup has a new one); itself without one. */
  where?(chatId: number): Promise<number>;
}

export interface Requester {
  readonly id: number;
  readonly name: string;
  readonly isAdmin: boolean;
}

export type RequestOutcome =
  | { readonly kind: 'refused'; readonly refusal: RequestRefusal }
  | { readonly kind: 'started'; readonly promotionId: number };

/** What a button press did, for its callback answer. */
export type DecisionAnswer =
  | { readonly kind: 'refused'; readonly refusal: ButtonRefusal | 'unknown button' }
  | { readonly kind: 'declined' }
  | { readonly kind: 'updating' }
  | { readonly kind: 'update refused' }
  | { readonly kind: 'head moved' }
  | { readonly kind: 'merge refused' }
  | { readonly kind: 'merge failed'; readonly problem: ForgeProblem }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'merged' };

export interface DecisionOutcome {
  readonly answer: DecisionAnswer;
  /** Shown as an alert rather than a toast. */
  readonly alert: boolean;
  /** True when the promotion reached an end (merged, declined, failed). */
  readonly final: boolean;
}

export type CancelOutcome =
  | { readonly kind: 'not an admin'; readonly userId: number }
  | { readonly kind: 'nothing in flight' }
  | { readonly kind: 'too late' }
  | { readonly kind: 'cancelled'; readonly promotionId: number };
