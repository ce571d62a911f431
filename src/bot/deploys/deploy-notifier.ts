import { type Api, InlineKeyboard } from 'grammy';
import type { DeployNotifier } from '../../deployer/deploy-notifier.js';
import type { Logger } from '../../logger.js';
import type { ChatMigrations } from '../../notifications/chat-migrations.js';
import type { Deployment, DeploymentStore } from '../../store/deployments.js';
import type { NotificationOutbox } from '../../store/notifications.js';
import { isChatNotFound } from '../notifications/chat-probe.js';
import { editRefusedForGood, migratedTo, notModified } from '../telegram-errors.js';
import { outcomeButtons, renderOutcome, renderProgress } from './render.js';
import { failedServiceLine } from './service-lines.js';
import { renderTimeline, withTimeline } from './timeline.js';

/** The result's button (Logs after a failure), or none. */
function buttonsOf(outcome: Parameters<typeof outcomeButtons>[0]): InlineKeyboard | undefined {
  const buttons = outcomeButtons(outcome);
  return buttons.length
    ? InlineKeyboard.from([buttons.map((b) => InlineKeyboard.text(b.text, b.data))])
    : undefined;
}

export interface DeployNotifierOptions {
  readonly api: () => Api;
  readonly deployments: DeploymentStore;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** Where a deployment asked from no chat (a push) reports: an admin's private chat. */
  readonly fallbackChatId: number;
  /** At most one edit of a progress message per this many ms (Telegram: ~1 message/s per chat). */
  readonly minEditIntervalMs?: number;
  /**
   * When the deploy's chat was never opened with this bot ("chat not found"): the outbox
   * that keeps its report for that chat, and the notify chat that hears it meanwhile.
   */
  readonly keep?: { readonly outbox: Pick<NotificationOutbox, 'enqueue'>; readonly notifyChatId: number };
  /**
   * Groups that became supergroups: a deployment asked from the old group reports to the
   * supergroup, and a refusal naming the new id (`migrate_to_chat_id`) is followed.
   */
  readonly chats?: Pick<ChatMigrations, 'current' | 'follow'>;
}

/** Said in the notify chat under the progress of a deploy whose own chat cannot be written to. */
function unreachedNote(chatId: number): string {
  return chatId > 0
    ? '⚠️ Whoever asked for this deploy has not opened a chat with me, so I cannot write to them: this report waits for them and reaches them when they send me /start.'
    : '⚠️ I am not in the group this deploy reports to (Telegram: chat not found): its report waits there until I am added and someone writes there.';
}

/**
 * The deployer's voice in chat: one progress message per deployment, edited in place as
 * steps start (coalesced to one edit per second), and one final message. Telegram
 * refusing a message is logged and never stops the deploy. A chat never opened with this
 * bot ("chat not found", with `keep`) is one warning: the progress goes to the notify chat
 * through the outbox, and the final progress and result are kept in the outbox for that
 * chat, sent once it writes to the bot.
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
  /** Deployments with an edit queued or timed that has not begun: it will read the newest state. */
  const pending = new Set<number>();
  /** Until a deployment's last edit is `minInterval` old. */
  const spaced = async (deploymentId: number) => {
    const wait = (lastEdit.get(deploymentId) ?? 0) + minInterval - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  let chain: Promise<void> = Promise.resolve();

  /** Where a deployment's messages go now: its chat (or the fallback), followed if it moved. */
  const chatOf = async (chatId: number | null): Promise<number> => {
    const id = chatId ?? options.fallbackChatId;
    return options.chats ? options.chats.current(id).catch(() => id) : id;
  };

  /** sendMessage, following a group that became a supergroup since (Telegram names it). */
  const send = async (chatId: number, html: string, other: Parameters<Api['sendMessage']>[2]) => {
    try {
      return await options.api().sendMessage(chatId, html, other);
    } catch (error) {
      const to = options.chats ? migratedTo(error) : undefined;
      if (to === undefined) throw error;
      await options.chats!.follow(chatId, to);
      return options.api().sendMessage(to, html, other);
    }
  };
  /** Deployments whose chat answered "chat not found": said once, then kept for that chat. */
  const unreached = new Set<number>();

  /**
   * The deploy's chat cannot be written to: one warning (no stack: it is a known answer),
   * and its progress goes to the notify chat through the outbox, once per deployment.
   */
  const notReached = async (d: Deployment, chatId: number, html: string): Promise<void> => {
    if (unreached.has(d.id)) return;
    unreached.add(d.id);
    log.warn(
      { deploymentId: d.id, chatId },
      `deploy #${d.id}: chat ${chatId} answers "chat not found" (never opened with this bot); its report goes to the notify chat and is kept until that chat writes to the bot (/start)`,
    );
    const keep = options.keep;
    if (!keep || keep.notifyChatId === chatId) return;
    await keep.outbox.enqueue(
      `deploy-unreached:${d.env}:${d.id}`,
      keep.notifyChatId,
      `${html}\n\n${unreachedNote(chatId)}`,
    );
  };

  /** A set deploy's containers and their states; none for one service (or Postgres away: the steps still show). */
  const servicesOf = (deploymentId: number) => deployments.serviceProgress(deploymentId).catch(() => []);

  /**
   * Sends or edits the progress message from what Postgres holds now, at least `minInterval`
   * after the last edit: the spacing is kept where the edits are made, one after another on
   * the chain, so an edit that waited there behind a slow one does not follow it at once.
   */
  const show = async (deploymentId: number): Promise<void> => {
    await spaced(deploymentId);
    const d = await deployments.get(deploymentId);
    if (!d) return;
    const from = d.previousSha ?? (await deployments.runningSha(d.env, d.id));
    const html = renderProgress(
      d,
      await deployments.steps(deploymentId),
      from,
      await servicesOf(deploymentId),
    );
    const chatId = await chatOf(d.chatId);
    lastEdit.set(deploymentId, Date.now());
    const sendAnew = async () => {
      const sent = await send(chatId, html, { parse_mode: 'HTML' });
      await deployments.setProgressMessage(deploymentId, sent.message_id);
    };
    try {
      if (d.progressMessageId) {
        await options
          .api()
          .editMessageText(chatId, d.progressMessageId, html, { parse_mode: 'HTML' })
          .catch(async (error: unknown) => {
            if (notModified(error)) return;
            // Deleted by a user, or left behind in a group that became a supergroup: the
            // progress goes on in a new message.
            if (editRefusedForGood(error) && !isChatNotFound(error)) return sendAnew();
            throw error;
          });
      } else {
        await sendAnew();
      }
    } catch (error) {
      if (isChatNotFound(error)) await notReached(d, chatId, html);
      else log.warn({ err: error, deploymentId, chatId }, 'could not show deploy progress');
    }
  };

  /** Runs after what is queued; a failure (Postgres gone, say) is logged, never thrown at a timer. */
  const enqueue = (work: () => Promise<void>) => {
    chain = chain
      .then(work)
      .catch((error: unknown) => log.warn({ err: error }, 'deploy chat: could not update'));
    return chain;
  };

  /** Shows the newest state soon: at once, or when the last edit is a second old (coalesced). */
  const update = async (deploymentId: number): Promise<void> => {
    if (pending.has(deploymentId)) return; // an edit is already due: it reads the newest state
    pending.add(deploymentId);
    const run = () =>
      enqueue(async () => {
        pending.delete(deploymentId);
        await show(deploymentId);
      });
    const wait = (lastEdit.get(deploymentId) ?? 0) + minInterval - Date.now();
    if (wait <= 0) return run();
    timers.set(
      deploymentId,
      setTimeout(() => {
        timers.delete(deploymentId);
        void run();
      }, wait),
    );
  };

  return {
    step: (deploymentId) => update(deploymentId),

    /** A container of a set moved on: the same throttled edit as a step's, with its service lines. */
    services: (deploymentId) => update(deploymentId),

    /** The running step's progress (a Swarm update's tasks): the same throttled edit. */
    progress: (deploymentId) => update(deploymentId),

    async finished(deploymentId, _env, outcome) {
      clearTimeout(timers.get(deploymentId));
      timers.delete(deploymentId);
      pending.delete(deploymentId);
      await enqueue(async () => {
        await show(deploymentId);
        lastEdit.delete(deploymentId);
        if (!(await deployments.claimFinalMessage(deploymentId))) return; // said already
        const d = await deployments.get(deploymentId);
        if (!d) return;
        const irreversible =
          outcome.status === 'succeeded'
            ? []
            : (await deployments.migrationsOf(deploymentId)).filter((m) => m.irreversible).map((m) => m.name);
        const steps = await deployments.steps(deploymentId);
        const backedUp = steps.some((s) => s.step === 'backup' && s.status === 'succeeded');
        const services = await servicesOf(deploymentId);
        const result = withTimeline(
          renderOutcome(d, outcome, options.redact, new Date(), irreversible, {
            backedUp,
            failedService: outcome.status === 'succeeded' ? undefined : failedServiceLine(services),
          }),
          // Without its timeline (Postgres away) the result still goes out.
          renderTimeline(await deployments.stepTimes(deploymentId).catch(() => [])),
        );
        try {
          const sent = await send(await chatOf(d.chatId), result, {
            parse_mode: 'HTML',
            reply_markup: buttonsOf(outcome),
            reply_parameters: d.progressMessageId
              ? { message_id: d.progressMessageId, allow_sending_without_reply: true }
              : undefined,
          });
          await deployments.setFinalMessage(deploymentId, sent.message_id);
        } catch (error) {
          if (!isChatNotFound(error) || !options.keep) {
            log.warn({ err: error, deploymentId }, 'could not send the deploy result');
            return;
          }
          // Kept for the chat in the outbox (sent once it writes to the bot): the progress
          // as it ended, unless it reached the chat, and the result.
          const chatId = await chatOf(d.chatId);
          const progress = renderProgress(d, await deployments.steps(deploymentId), undefined, services);
          await notReached(d, chatId, progress);
          if (!d.progressMessageId)
            await options.keep.outbox.enqueue(`deploy-report:${d.env}:${d.id}:progress`, chatId, progress);
          await options.keep.outbox.enqueue(`deploy-report:${d.env}:${d.id}:result`, chatId, result);
        }
      });
    },

    /** Until every edit due is made: also those an edit being made led to (a step that ended meanwhile). */
    async flush() {
      for (;;) {
        while (timers.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        const settled = chain;
        await settled;
        if (timers.size === 0 && chain === settled) return;
      }
    },
  };
}
