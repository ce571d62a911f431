import type { Api } from 'grammy';
import type { DeployNotifier } from '../../deployer/deploy-notifier.js';
import type { Logger } from '../../logger.js';
import type { DeploymentStore } from '../../store/deployments.js';
import { notModified } from '../telegram-errors.js';
import { renderOutcome, renderProgress } from './render.js';
import { renderTimeline, withTimeline } from './timeline.js';

export interface DeployNotifierOptions {
  readonly api: () => Api;
  readonly deployments: DeploymentStore;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** Where a deployment asked from no chat (a push) reports: an admin's private chat. */
  readonly fallbackChatId: number;
  /** At most one edit of a progress message per this many ms (Telegram: ~1 message/s per chat). */
  readonly minEditIntervalMs?: number;
}

/**
 * The deployer's voice in chat: one progress message per deployment, edited in place as
 * steps start (coalesced to one edit per second), and one final message. Telegram
 * refusing a message is logged and never stops the deploy.
 */
export function createDeployNotifier(options: DeployNotifierOptions): DeployNotifier & {
  /** Waits for pending edits (tests, shutdown). */
  flush(): Promise<void>;
} {
  const { deployments } = options;
  const log = options.logger.child({ component: 'deploy-chat' });
  const minInterval = options.minEditIntervalMs ?? 1_000;
  const lastEdit = new Map<number, number>();
  const timers = new Map<number, NodeJS.Timeout>();
  let chain: Promise<void> = Promise.resolve();

  const chatOf = (chatId: number | null) => chatId ?? options.fallbackChatId;

  /** Sends or edits the progress message from what Postgres holds now. */
  const show = async (deploymentId: number): Promise<void> => {
    const d = await deployments.get(deploymentId);
    if (!d) return;
    const html = renderProgress(d, await deployments.steps(deploymentId));
    const chatId = chatOf(d.chatId);
    lastEdit.set(deploymentId, Date.now());
    try {
      if (d.progressMessageId) {
        await options
          .api()
          .editMessageText(chatId, d.progressMessageId, html, { parse_mode: 'HTML' })
          .catch((error: unknown) => {
            if (!notModified(error)) throw error;
          });
      } else {
        const sent = await options.api().sendMessage(chatId, html, { parse_mode: 'HTML' });
        await deployments.setProgressMessage(deploymentId, sent.message_id);
      }
    } catch (error) {
      log.warn({ err: error, deploymentId, chatId }, 'could not show deploy progress');
    }
  };

  /** Runs after what is queued; a failure (Postgres gone, say) is logged, never thrown at a timer. */
  const enqueue = (work: () => Promise<void>) => {
    chain = chain
      .then(work)
      .catch((error: unknown) => log.warn({ err: error }, 'deploy chat: could not update'));
    return chain;
  };

  return {
    async step(deploymentId) {
      if (timers.has(deploymentId)) return; // an edit is already due: it reads the newest state
      const wait = (lastEdit.get(deploymentId) ?? 0) + minInterval - Date.now();
      if (wait <= 0) return enqueue(() => show(deploymentId));
      timers.set(
        deploymentId,
        setTimeout(() => {
          timers.delete(deploymentId);
          void enqueue(() => show(deploymentId));
        }, wait),
      );
    },

    async finished(deploymentId, _env, outcome) {
      clearTimeout(timers.get(deploymentId));
      timers.delete(deploymentId);
      await enqueue(async () => {
        const wait = (lastEdit.get(deploymentId) ?? 0) + minInterval - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await show(deploymentId);
        lastEdit.delete(deploymentId);
        if (!(await deployments.claimFinalMessage(deploymentId))) return; // said already
        const d = await deployments.get(deploymentId);
        if (!d) return;
        const irreversible =
          outcome.status === 'succeeded'
            ? []
            : (await deployments.migrationsOf(deploymentId)).filter((m) => m.irreversible).map((m) => m.name);
        try {
          const sent = await options.api().sendMessage(
            chatOf(d.chatId),
            withTimeline(
              renderOutcome(d, outcome, options.redact, new Date(), irreversible),
              // Without its timeline (Postgres away) the result still goes out.
              renderTimeline(await deployments.stepTimes(deploymentId).catch(() => [])),
            ),
            {
              parse_mode: 'HTML',
              reply_parameters: d.progressMessageId
                ? { message_id: d.progressMessageId, allow_sending_without_reply: true }
                : undefined,
            },
          );
          await deployments.setFinalMessage(deploymentId, sent.message_id);
        } catch (error) {
          log.warn({ err: error, deploymentId }, 'could not send the deploy result');
        }
      });
    },

    async flush() {
      while (timers.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await chain;
    },
  };
}
