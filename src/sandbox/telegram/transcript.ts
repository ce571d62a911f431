import type { Document, InlineKeyboardMarkup, Message, PhotoSize, SandboxUser } from './types.js';

/** One version of a bot message after an edit. */
export interface TranscriptEdit {
  at: number;
  text?: string;
  caption?: string;
  reply_markup?: InlineKeyboardMarkup;
}

/** A sent document with its bytes, so tests can read an upload back. */
export interface TranscriptDocument extends Document {
  content: Buffer;
}

/** A sent photo with its bytes, so tests can read the image back. */
export interface TranscriptPhoto extends PhotoSize {
  content: Buffer;
}

/** What happened in one chat, in order, as a person looking at the chat would list it. */
export type TranscriptEntry =
  | {
      kind: 'user_message';
      at: number;
      message_id: number;
      from: SandboxUser;
      text: string;
      message: Message;
    }
  | {
      kind: 'bot_message';
      at: number;
      message_id: number;
      /** Current text (or caption), after all edits. */
      text?: string;
      caption?: string;
      reply_markup?: InlineKeyboardMarkup;
      document?: TranscriptDocument;
      photo?: TranscriptPhoto;
      /** The current Message, as getUpdates/editMessageText would return it. */
      message: Message;
      /** Each edit's resulting version, oldest first; the original is `original`. */
      edits: TranscriptEdit[];
      original: { text?: string; caption?: string; reply_markup?: InlineKeyboardMarkup };
      deleted: boolean;
    }
  | {
      kind: 'button_press';
      at: number;
      callback_query_id: string;
      message_id: number;
      data: string;
      from: SandboxUser;
    }
  | {
      kind: 'callback_answer';
      at: number;
      callback_query_id: string;
      text?: string;
      show_alert: boolean;
      url?: string;
    }
  | { kind: 'deletion'; at: number; message_id: number }
  | { kind: 'chat_action'; at: number; action: string };

/** Renders a transcript as lines for error messages (waitForBotMessage timeouts). */
export function describeTranscript(entries: readonly TranscriptEntry[]): string {
  if (entries.length === 0) return '  (empty transcript)';
  return entries
    .map((entry) => {
      switch (entry.kind) {
        case 'user_message':
          return `  user #${entry.message_id} ${entry.from.first_name}: ${JSON.stringify(entry.text)}`;
        case 'bot_message': {
          const body = entry.document
            ? `[document ${entry.document.file_name ?? ''}] ${JSON.stringify(entry.caption ?? '')}`
            : JSON.stringify(entry.text ?? '');
          const buttons = entry.reply_markup?.inline_keyboard
            .flat()
            .map((b) => `[${b.text}${b.callback_data ? `=${b.callback_data}` : ''}]`)
            .join(' ');
          const flags = `${entry.edits.length > 0 ? ` (edited ${entry.edits.length}x)` : ''}${entry.deleted ? ' (deleted)' : ''}`;
          return `  bot #${entry.message_id}${flags}: ${body}${buttons ? ` ${buttons}` : ''}`;
        }
        case 'button_press':
          return `  press on #${entry.message_id} by ${entry.from.first_name}: ${JSON.stringify(entry.data)}`;
        case 'callback_answer':
          return `  callback answer${entry.show_alert ? ' (alert)' : ''}: ${JSON.stringify(entry.text ?? '')}`;
        case 'deletion':
          return `  bot deleted #${entry.message_id}`;
        case 'chat_action':
          return `  chat action: ${entry.action}`;
      }
      return '';
    })
    .join('\n');
}

/** A deep copy, so callers cannot reach into the stand-in's state. */
export function copyEntry(entry: TranscriptEntry): TranscriptEntry {
  if (entry.kind === 'bot_message' && entry.document) {
    const { content, ...meta } = entry.document;
    return {
      ...structuredClone({ ...entry, document: undefined }),
      document: { ...meta, content: Buffer.from(content) },
    };
  }
  if (entry.kind === 'bot_message' && entry.photo) {
    const { content, ...meta } = entry.photo;
    return {
      ...structuredClone({ ...entry, photo: undefined }),
      photo: { ...meta, content: Buffer.from(content) },
    };
  }
  return structuredClone(entry);
}
