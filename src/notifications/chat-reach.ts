// Which of the chats this instance reports to it can write to: Telegram lets no bot write
// first, so an admin who never opened a chat with this bot, or a notify group it is not in,
// answers "chat not found". Checked at start (just after updates are first taken),
// re-checked when such a chat first writes.
import type { Logger } from '../logger.js';
import { keyspace, type Redis } from '../store/redis.js';

/** What a probe of one chat found: writable, not opened yet, or another answer (quoted). */
export type ChatReachVerdict =
  | { readonly state: 'ok' }
  | { readonly state: 'not opened' }
  | { readonly state: 'unknown'; readonly detail: string };

/** What the instance knows of its chats, published for the other instance (staging's /promote). */
export interface ReachReport {
  readonly checkedAt: string;
  /** The bot's @username, for a t.me link to open it. */
  readonly botUsername: string;
  /** Admins who have not opened a chat with this bot yet: it cannot write to them. */
  readonly unreachableAdmins: readonly number[];
  /** The notify chat: reachable, not opened (or the bot is not in the group), or unknown. */
  readonly notifyChat: ChatReachVerdict['state'];
}

export interface ChatReachOptions {
  readonly adminIds: readonly number[];
  readonly notifyChatId: number;
  /** Asks Telegram about one chat without writing to it (getChat); implemented by the bot. */
  readonly probe: (chatId: number) => Promise<ChatReachVerdict>;
  readonly logger: Logger;
  /** Where the report is published (this instance's prefix) for the other instance to read. */
  readonly redis?: Redis;
  readonly prefix?: string;
  /** A chat wrote to the bot: what waits for it (kept notifications) is due now; returns how many. */
  readonly release?: (chatId: number) => Promise<number>;
  /** An admin whose command menu Telegram refused wrote to the bot: publish it now. */
  readonly publishAdminMenu?: (adminId: number) => Promise<boolean>;
}

const REACH_KEY = ['public', 'reach'] as const;

/** The other instance's reach report, when it has published one. */
export async function readReach(redis: Redis, prefix: string): Promise<ReachReport | undefined> {
  const raw = await redis.get(keyspace(prefix).key(...REACH_KEY));
  return raw === null ? undefined : (JSON.parse(raw) as ReachReport);
}

export function createChatReach(options: ChatReachOptions) {
  const log = options.logger.child({ component: 'chat-reach' });
  let report: ReachReport | undefined;
  let botUsername = '';
  const unreachable = new Set<number>();
  const menuPending = new Set<number>();
  /** Chats seen writing in this process: the first write of each releases what waits for it. */
  const seen = new Set<number>();

  const snapshot = (notifyChat: ReachReport['notifyChat']): ReachReport => ({
    checkedAt: new Date().toISOString(),
    botUsername,
    unreachableAdmins: options.adminIds.filter((id) => unreachable.has(id)),
    notifyChat,
  });

  /** Publishes an admin's refused menu; it stays pending while Telegram refuses it. */
  const publishPendingMenu = async (adminId: number) => {
    if (menuPending.has(adminId) && (await options.publishAdminMenu?.(adminId))) menuPending.delete(adminId);
  };

  const publish = async () => {
    if (!options.redis || !options.prefix || !report) return;
    await options.redis
      .set(keyspace(options.prefix).key(...REACH_KEY), JSON.stringify(report))
      .catch((error: unknown) => log.warn({ err: error }, 'could not publish which chats the bot reaches'));
  };

  return {
    /** Probes every admin's chat and the notify chat; logs and publishes what it found. */
    async check(username: string): Promise<ReachReport> {
      botUsername = username;
      const ids = [...new Set([...options.adminIds, options.notifyChatId])];
      const verdicts = new Map(
        await Promise.all(ids.map(async (id) => [id, await options.probe(id)] as const)),
      );
      for (const id of options.adminIds) {
        const verdict = verdicts.get(id)!;
        // An admin who wrote while the probe was under way has opened the chat since.
        if (verdict.state === 'not opened' && !seen.has(id)) {
          unreachable.add(id);
          log.warn(
            { adminId: id },
            `admin ${id} has not opened a chat with @${username} yet: it cannot write to them (deploy reports, their command menu) until they send it /start`,
          );
        } else {
          unreachable.delete(id);
          if (verdict.state === 'unknown')
            log.warn(
              { adminId: id },
              `could not tell whether admin ${id} reaches @${username}: ${verdict.detail}`,
            );
        }
      }
      // A notify chat that wrote while the probe was under way is open to the bot.
      const notify: ChatReachVerdict = seen.has(options.notifyChatId)
        ? { state: 'ok' }
        : verdicts.get(options.notifyChatId)!;
      if (notify.state === 'not opened' && !options.adminIds.includes(options.notifyChatId))
        log.warn(
          { chatId: options.notifyChatId },
          `the notify chat ${options.notifyChatId} is not open to @${username} (chat not found): add the bot to that group, or set NOTIFY_CHAT_ID to a chat it is in; notifications wait until then`,
        );
      if (unreachable.size === 0 && notify.state === 'ok')
        log.info(`@${username} can write to every admin and to the notify chat`);
      report = snapshot(notify.state);
      await publish();
      return report;
    },

    /** What the last check (and the writes since) found; undefined before the first check. */
    current(): ReachReport | undefined {
      return report;
    },

    /**
     * The admins whose command menu Telegram refused: published when they first write, or
     * now for one who wrote while the menus were being published (runs after the first batch).
     */
    menuRefused(adminIds: readonly number[]): void {
      for (const id of adminIds) {
        menuPending.add(id);
        if (seen.has(id))
          publishPendingMenu(id).catch((error: unknown) =>
            log.warn({ err: error, adminId: id }, 'could not publish the admin menu'),
          );
      }
    },

    /**
     * A chat wrote to the bot (`fromId` wrote in it). The first time per chat in this
     * process: what waits for it is due now, an admin who could not be reached can be, and
     * a refused admin menu is published.
     */
    async wrote(chatId: number, fromId: number | undefined): Promise<void> {
      if (seen.has(chatId)) return;
      seen.add(chatId);
      const released = (await options.release?.(chatId)) ?? 0;
      if (released > 0)
        log.info({ chatId }, `chat ${chatId} wrote to the bot: ${released} kept notification(s) sent now`);
      let changed = false;
      if (chatId === options.notifyChatId && report && report.notifyChat !== 'ok') {
        report = { ...report, notifyChat: 'ok' };
        changed = true;
      }
      const isPrivateAdmin = fromId !== undefined && fromId === chatId && options.adminIds.includes(fromId);
      if (isPrivateAdmin) {
        await publishPendingMenu(fromId);
        if (unreachable.delete(fromId)) {
          log.info(
            { adminId: fromId },
            `admin ${fromId} opened a chat with @${botUsername}: it can write to them now`,
          );
          changed = true;
        }
      }
      if (changed && report) {
        report = snapshot(report.notifyChat);
        await publish();
      }
    },
  };
}

export type ChatReach = ReturnType<typeof createChatReach>;
