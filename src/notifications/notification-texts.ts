import type { AppEnv } from '../config/environments.js';
import type { DeployNotifier } from '../deployer/deploy-notifier.js';
import type { HandoffRefusal } from '../deployer/intake.js';
import type { Deployment } from '../store/deployments.js';
import type { HeldLock } from '../store/locks.js';
import type { Promotion } from '../store/promotions.js';

/** How a deploy ended, as the runner reports it. */
export type DeployResult = Parameters<DeployNotifier['finished']>[2];

/**
 * The texts notifications queue, one per kind of news, made from facts by whoever owns
 * the chat (the bot renders Telegram HTML). They are stored as made and sent later,
 * possibly by another process, so a text must be complete, and redacted: what came from
 * outside lugh (an error, a reason, a person's name) may carry a secret.
 */
export interface NotificationTexts {
  degraded(env: AppEnv, reason: string): string;
  /** `since`: when the episode began. */
  recovered(env: AppEnv, since: Date): string;
  /** A promotion that failed or was abandoned (expired, cancelled); nothing was merged. */
  promotionEnded(promotion: Promotion): string;
  /** A lock that ran out unreleased; `deployment` when a deploy held it. */
  lockExpired(env: string, lock: HeldLock, deployment: Deployment | undefined): string;
  deployFinished(deployment: Deployment, result: DeployResult): string;
  /** A GitHub Deployment this instance refused to deploy (unsigned, forged, replayed, …). */
  handoffRefused(refusal: HandoffRefusal): string;
}
