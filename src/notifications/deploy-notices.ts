import type { DeployNotifier } from '../deployer/deploy-notifier.js';
import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';
import type { NotificationOutbox } from '../store/notifications.js';
import type { NotificationTexts } from './notification-texts.js';

interface DeployNoticeOptions {
  readonly outbox: NotificationOutbox;
  readonly deployments: DeploymentStore;
  readonly notifyChatId: number;
  /** Where the deploy's own final message goes when it was asked from no chat. */
  readonly fallbackChatId: number;
  readonly texts: Pick<NotificationTexts, 'deployFinished'>;
  readonly logger: Logger;
}

/**
 * Adds the notify chat to a deploy notifier: when a deployment finishes, its result is
 * queued in the outbox under `deploy:<env>:<id>` (once, however often the runner reports
 * it), unless the notify chat is the chat the deploy reports its final message to anyway.
 * Works in the deploy runner container too: it only writes to Postgres.
 */
export function withDeployNotices<N extends DeployNotifier>(inner: N, options: DeployNoticeOptions): N {
  const log = options.logger.child({ component: 'deploy-notices' });
  return {
    ...inner,
    async finished(deploymentId, env, outcome) {
      try {
        await inner.finished(deploymentId, env, outcome);
      } finally {
        try {
          const d = await options.deployments.get(deploymentId);
          if (d && (d.chatId ?? options.fallbackChatId) !== options.notifyChatId) {
            await options.outbox.enqueue(
              `deploy:${env}:${deploymentId}`,
              options.notifyChatId,
              options.texts.deployFinished(d, outcome),
            );
          }
        } catch (error) {
          log.warn({ err: error, deploymentId }, 'could not queue the deploy notice');
        }
      }
    },
  };
}
