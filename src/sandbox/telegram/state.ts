import { randomBytes } from 'node:crypto';
import type { TranscriptDocument, TranscriptEntry, TranscriptPhoto } from './transcript.js';
import type {
  BotCommand,
  BotUser,
  Chat,
  InlineKeyboardMarkup,
  Message,
  SandboxChat,
  SandboxUser,
  User,
} from './types.js';
import { UpdateQueue } from './update-queue.js';

export interface WebhookConfig {
  url: string;
  secretToken: string | undefined;
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  filePath: string;
  fileName: string;
  mimeType: string;
  content: Buffer;
}

export interface CallbackQueryRecord {
  chatId: number;
  createdAt: number;
  answered: boolean;
}

type BotMessageEntry = Extract<TranscriptEntry, { kind: 'bot_message' }>;

interface StoredMessage {
  message: Message;
  /** Set for the bot's own messages: the transcript entry kept in step with edits. */
  entry?: BotMessageEntry;
}

/** A chat as one bot sees it: its own message_id sequence, messages and transcript. */
export class ChatState {
  private nextMessageId = 1;
  readonly messages = new Map<number, StoredMessage>();
  readonly transcript: TranscriptEntry[] = [];
  /** Set once the group was upgraded: the supergroup's id, which the old id now names in its 400. */
  migratedTo: number | undefined;

  constructor(readonly chat: Chat) {}

  takeMessageId(): number {
    return this.nextMessageId++;
  }

  record(entry: TranscriptEntry): void {
    this.transcript.push(entry);
  }

  addUserMessage(message: Message, from: SandboxUser, at: number): void {
    this.messages.set(message.message_id, { message });
    this.record({
      kind: 'user_message',
      at,
      message_id: message.message_id,
      from,
      text: message.text ?? '',
      message,
    });
  }

  addBotMessage(
    message: Message,
    at: number,
    document?: TranscriptDocument,
    photo?: TranscriptPhoto,
  ): BotMessageEntry {
    const entry: BotMessageEntry = {
      kind: 'bot_message',
      at,
      message_id: message.message_id,
      message,
      edits: [],
      original: versionOf(message),
      deleted: false,
      ...versionOf(message),
      ...(document ? { document } : {}),
      ...(photo ? { photo } : {}),
    };
    this.messages.set(message.message_id, { message, entry });
    this.record(entry);
    return entry;
  }

  /** Replaces a bot message with its edited version and notes the edit in the transcript. */
  replaceBotMessage(message: Message, at: number): void {
    const stored = this.messages.get(message.message_id);
    if (!stored) return;
    stored.message = message;
    const entry = stored.entry;
    if (!entry) return;
    const version = versionOf(message);
    entry.message = message;
    entry.text = version.text;
    entry.caption = version.caption;
    entry.reply_markup = version.reply_markup;
    if (!version.text) delete entry.text;
    if (!version.caption) delete entry.caption;
    if (!version.reply_markup) delete entry.reply_markup;
    entry.edits.push({ at, ...version });
  }

  deleteMessage(messageId: number, at: number): boolean {
    const stored = this.messages.get(messageId);
    if (!stored) return false;
    this.messages.delete(messageId);
    if (stored.entry) stored.entry.deleted = true;
    this.record({ kind: 'deletion', at, message_id: messageId });
    return true;
  }

  get(messageId: number): Message | undefined {
    return this.messages.get(messageId)?.message;
  }

  isFromBot(messageId: number): boolean {
    return this.messages.get(messageId)?.entry !== undefined;
  }

  botMessages(): Message[] {
    return [...this.messages.values()].filter((stored) => stored.entry).map((stored) => stored.message);
  }
}

function versionOf(message: Message): {
  text?: string;
  caption?: string;
  reply_markup?: InlineKeyboardMarkup;
} {
  return {
    ...(message.text !== undefined ? { text: message.text } : {}),
    ...(message.caption !== undefined ? { caption: message.caption } : {}),
    ...(message.reply_markup ? { reply_markup: message.reply_markup } : {}),
  };
}

type BotMessageListener = (chatId: number, message: Message) => void;

/** Everything the stand-in knows about one registered bot. */
export class BotState {
  readonly user: BotUser;
  readonly chats = new Map<number, ChatState>();
  readonly updates: UpdateQueue;
  webhook: WebhookConfig | undefined;
  readonly commands = new Map<string, BotCommand[]>();
  readonly blocked = new Set<number>();
  readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  readonly files = new Map<string, StoredFile>();
  private readonly listeners = new Set<BotMessageListener>();
  private callbackCounter = 0;

  constructor(
    readonly token: string,
    user: { id: number; username: string; firstName: string },
    readonly now: () => number,
    onUpdate: () => void,
  ) {
    this.user = {
      id: user.id,
      is_bot: true,
      first_name: user.firstName,
      username: user.username,
      // Privacy mode is off: the stand-in delivers every group message, so say so.
      can_join_groups: true,
      can_read_all_group_messages: true,
      supports_inline_queries: false,
    };
    this.updates = new UpdateQueue(now, onUpdate);
  }

  /** The bot as it appears in `from` of its messages (a User, not getMe's extras). */
  get asUser(): User {
    return { id: this.user.id, is_bot: true, first_name: this.user.first_name, username: this.user.username };
  }

  /** The chat with a user or group, created on first contact. */
  chatFor(chat: SandboxChat, from: SandboxUser): ChatState {
    let state = this.chats.get(chat.id);
    if (!state) {
      const described: Chat =
        chat.type === 'private'
          ? {
              id: chat.id,
              type: 'private',
              first_name: from.first_name,
              ...(from.last_name ? { last_name: from.last_name } : {}),
              ...(from.username ? { username: from.username } : {}),
            }
          : { id: chat.id, type: chat.type, title: chat.title ?? `Group ${chat.id}` };
      state = new ChatState(described);
      this.chats.set(chat.id, state);
    }
    return state;
  }

  nextCallbackQueryId(): string {
    this.callbackCounter += 1;
    // Real ids are long decimal strings; the bot id keeps them distinct across bots.
    return `${this.user.id}${String(this.callbackCounter).padStart(7, '0')}`;
  }

  storeFile(fileName: string, mimeType: string, content: Buffer): StoredFile {
    const file: StoredFile = {
      fileId: `BQACAgIAAxkBAA${randomBytes(24).toString('base64url')}`,
      fileUniqueId: `AgAD${randomBytes(8).toString('base64url')}`,
      filePath: `documents/file_${this.files.size}${extensionOf(fileName)}`,
      fileName,
      mimeType,
      content,
    };
    this.files.set(file.fileId, file);
    return file;
  }

  onBotMessage(listener: BotMessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells waiters about a bot message that was sent or edited. */
  announce(chatId: number, message: Message): void {
    for (const listener of [...this.listeners]) listener(chatId, message);
  }
}

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(dot) : '';
}
