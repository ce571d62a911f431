// Groups that became supergroups: Telegram gives the supergroup a new chat id and refuses
// the old one (400 "group chat was upgraded to a supergroup chat", with migrate_to_chat_id).
// lugh follows the move, remembers it in Postgres, and says which setting still names the
// old id, so the operator can update it.
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ChatMigrationStore } from '../store/chat-migrations.js';

/** A setting that names a chat that moved, and what it should say now. */
export interface MovedChatSetting {
  readonly variable: 'PROMOTE_CHAT_IDS' | 'NOTIFY_CHAT_ID';
  readonly should: string;
}

/** One move, as facts for the chat to render. */
export interface ChatMove {
  readonly from: number;
  readonly to: number;
  /** False when the move was known already (the other service message, a second refusal). */
  readonly isNew: boolean;
  readonly settings: readonly MovedChatSetting[];
}

export interface ChatMigrations {
  /** Records that `from` is now `to` (logging which settings to update the first time). */
  follow(from: number, to: number): Promise<ChatMove>;
  /** Where a chat lives now. */
  current(chatId: number): Promise<number>;
  /** The chats PROMOTE_CHAT_IDS names, and the supergroups they became. */
  promoteChatIds(): Promise<readonly number[]>;
  /** Every chat known to have moved: old id → new id. */
  moved(): Promise<ReadonlyMap<number, number>>;
}

/** The settings that name `from`, each as it should read with `to` instead. */
export function settingsNaming(
  config: Pick<Config, 'promote' | 'notify'>,
  from: number,
  to: number,
): MovedChatSetting[] {
  const settings: MovedChatSetting[] = [];
  const promote = config.promote.allowedChatIds;
  if (promote.includes(from)) {
    settings.push({
      variable: 'PROMOTE_CHAT_IDS',
      should: promote.map((id) => (id === from ? to : id)).join(','),
    });
  }
  if (config.notify.chatId === from) settings.push({ variable: 'NOTIFY_CHAT_ID', should: String(to) });
  return settings;
}

export function createChatMigrations(deps: {
  readonly store: ChatMigrationStore;
  readonly config: Pick<Config, 'promote' | 'notify'>;
  readonly logger: Logger;
}): ChatMigrations {
  const { store, config } = deps;
  const log = deps.logger.child({ component: 'chat-migrations' });
  return {
    async follow(from, to) {
      const isNew = await store.record(from, to);
      const settings = settingsNaming(config, from, to);
      if (isNew) {
        log.warn(
          { from, to, update: settings.map((s) => `${s.variable}=${s.should}`) },
          settings.length
            ? `chat ${from} became supergroup ${to}: lugh follows it; update ${settings.map((s) => `${s.variable}=${s.should}`).join(' and ')} in the env file and restart`
            : `chat ${from} became supergroup ${to}: lugh follows it`,
        );
      }
      return { from, to, isNew, settings };
    },
    current: (chatId) => store.current(chatId),
    moved: () => store.all(),
    async promoteChatIds() {
      const moved = await store.all();
      const ids = config.promote.allowedChatIds;
      return [...ids, ...ids.flatMap((id) => (moved.has(id) ? [moved.get(id)!] : []))];
    },
  };
}
