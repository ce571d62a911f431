import type { TranscriptEntry } from '../transcript.js';
import type { InlineKeyboardMarkup, MessageEntity, SandboxUser } from '../types.js';

/** A transcript entry as the page needs it: no document bytes, edits counted, position kept. */
export type PageEntry = { index: number } & (
  | {
      kind: 'user_message';
      message_id: number;
      date: number;
      from: SandboxUser;
      text: string;
      entities: MessageEntity[];
    }
  | {
      kind: 'bot_message';
      message_id: number;
      date: number;
      text?: string;
      entities: MessageEntity[];
      reply_markup?: InlineKeyboardMarkup;
      document?: { file_name?: string; mime_type?: string; file_size?: number; url: string };
      photo?: { width: number; height: number; url: string };
      edits: number;
      deleted: boolean;
    }
  | { kind: 'button_press'; message_id: number; data: string }
  | { kind: 'callback_answer'; text?: string; show_alert: boolean; url?: string }
  | { kind: 'deletion'; message_id: number }
  | { kind: 'chat_action'; action: string }
);

/**
 * Follows one chat's transcript for one page connection and yields only what the page has
 * not seen: new entries, and bot messages whose edit count or deletion changed since.
 */
export class ChatViewTracker {
  private seen = 0;
  private readonly botVersions = new Map<number, string>();

  constructor(private readonly documentUrl: (messageId: number) => string) {}

  changes(transcript: readonly TranscriptEntry[]): PageEntry[] {
    const out: PageEntry[] = [];
    transcript.forEach((entry, index) => {
      if (entry.kind === 'bot_message') {
        const version = `${entry.edits.length}:${entry.deleted}`;
        if (this.botVersions.get(index) === version) return;
        this.botVersions.set(index, version);
        out.push(this.toPage(entry, index));
      } else if (index >= this.seen) {
        out.push(this.toPage(entry, index));
      }
    });
    this.seen = transcript.length;
    return out;
  }

  private toPage(entry: TranscriptEntry, index: number): PageEntry {
    switch (entry.kind) {
      case 'user_message':
        return {
          index,
          kind: entry.kind,
          message_id: entry.message_id,
          date: entry.message.date,
          from: entry.from,
          text: entry.text,
          entities: entry.message.entities ?? [],
        };
      case 'bot_message': {
        const { message, document, photo } = entry;
        const body = message.text ?? message.caption;
        return {
          index,
          kind: entry.kind,
          message_id: entry.message_id,
          date: message.date,
          ...(body !== undefined ? { text: body } : {}),
          entities: (message.text !== undefined ? message.entities : message.caption_entities) ?? [],
          ...(message.reply_markup ? { reply_markup: message.reply_markup } : {}),
          ...(document
            ? {
                document: {
                  ...(document.file_name !== undefined ? { file_name: document.file_name } : {}),
                  ...(document.mime_type !== undefined ? { mime_type: document.mime_type } : {}),
                  file_size: document.file_size ?? document.content.length,
                  url: this.documentUrl(entry.message_id),
                },
              }
            : {}),
          ...(photo
            ? { photo: { width: photo.width, height: photo.height, url: this.documentUrl(entry.message_id) } }
            : {}),
          edits: entry.edits.length,
          deleted: entry.deleted,
        };
      }
      case 'button_press':
        return { index, kind: entry.kind, message_id: entry.message_id, data: entry.data };
      case 'callback_answer':
        return {
          index,
          kind: entry.kind,
          show_alert: entry.show_alert,
          ...(entry.text !== undefined ? { text: entry.text } : {}),
          ...(entry.url !== undefined ? { url: entry.url } : {}),
        };
      case 'deletion':
        return { index, kind: entry.kind, message_id: entry.message_id };
      case 'chat_action':
        return { index, kind: entry.kind, action: entry.action };
    }
  }
}
