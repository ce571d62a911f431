// The Telegram stand-in's public face: its options, what it records of Bot API calls, and
// the API the tests and the sandbox drive (stand-in.ts implements it).
import type { FaultSpec } from './faults.js';
import type { PageUser } from './page/page-users.js';
import type { TranscriptEntry } from './transcript.js';
import type { BotUser, Message, SandboxUser } from './types.js';
import type { PressButtonInput, SendTextInput } from './user-side.js';
import type { WebhookAttempt } from './webhook.js';

export interface TelegramStandInOptions {
  /** Defaults to 0: any free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Milliseconds since the epoch; injectable so tests can age callback queries and updates. */
  now?: () => number;
  /** Emulate the real send limits with 429s (off by default). */
  rateLimits?: boolean;
  /** Who the web chat page at `/` can write as; defaults to an admin and a stranger. */
  pageUsers?: PageUser[];
  /**
   * How long a webhook delivery waits for its answer before it counts as failed and the
   * update is sent again (default 10 s, `webhookTimeoutMs`); tests shorten it.
   */
  webhookTimeoutMs?: number;
  /**
   * Told when a Bot API request arrives and when its answer is written, with the time
   * (`performance.now()`): how the bench measures a bot's handling time, the same for any bot.
   */
  onCall?: (event: CallEvent) => void;
}

/** One side of a Bot API call as the stand-in saw it (never the token: only the bot's id). */
export interface CallEvent {
  readonly botId: number;
  readonly method: string;
  readonly phase: 'received' | 'answered';
  /** The request's parameters ('received') or the answer's `result` ('answered'). */
  readonly data: unknown;
  /** `performance.now()` in the stand-in's process. */
  readonly at: number;
}

export interface CallRecord {
  /** The bot id and a mask, never the token's secret part. */
  token: string;
  method: string;
  params: Record<string, unknown>;
  at: number;
}

export interface WaitOptions {
  timeoutMs?: number;
}

/** What a Bot API call produced: an HTTP answer, or nothing ever (an injected hang). */
export type CallOutcome =
  | { kind: 'answer'; status: number; body: Record<string, unknown>; headers: Record<string, string> }
  | { kind: 'hang' };

/** The running stand-in: the Bot API over HTTP plus the user's side of the chats. */
export interface TelegramStandIn {
  readonly apiRoot: string;
  registerBot(bot: { token: string; username: string; firstName: string }): BotUser;
  sendText(input: SendTextInput): Message;
  pressButton(input: PressButtonInput): string;
  transcript(token: string, chatId: number): TranscriptEntry[];
  waitForBotMessage(
    token: string,
    chatId: number,
    predicate: (message: Message) => boolean,
    options?: WaitOptions,
  ): Promise<Message>;
  injectFault(fault: FaultSpec): void;
  calls(token?: string): CallRecord[];
  blockBot(token: string, userId: number): void;
  /** A user deletes one of the bot's messages; the bot is not told (its edits then fail). */
  deleteMessage(token: string, chatId: number, messageId: number): void;
  /** An admin upgrades a group to a supergroup; returns the supergroup's (new) id. */
  migrateGroup(token: string, groupId: number, from: SandboxUser): number;
  /** Delivers a raw update as Telegram would (an edited message, a kind lugh does not handle): for fuzzing. */
  injectUpdate(token: string, update: Record<string, unknown>): void;
  /** Every webhook delivery attempt for a bot, oldest first: a redelivery repeats an update_id. */
  webhookDeliveries(token: string): WebhookAttempt[];
  close(): Promise<void>;
}
