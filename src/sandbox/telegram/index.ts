/**
 * A local stand-in for the Telegram Bot API that grammY cannot tell from the real thing.
 * It depends on node built-ins only: the product must never import it (see DESIGN §7).
 */
export type { FaultSpec } from './faults.js';
export type { PageUser } from './page/page-users.js';
export {
  type CallEvent,
  type CallRecord,
  startTelegramStandIn,
  type TelegramStandIn,
  type TelegramStandInOptions,
  type WaitOptions,
} from './stand-in.js';
export type { TranscriptDocument, TranscriptEdit, TranscriptEntry } from './transcript.js';
export type {
  BotUser,
  Chat,
  Document,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  SandboxChat,
  SandboxUser,
  Update,
  User,
} from './types.js';
export type { PressButtonInput, SendTextInput } from './user-side.js';
export type { WebhookAttempt } from './webhook.js';
