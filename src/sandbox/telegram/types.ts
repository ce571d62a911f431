/**
 * The subset of Bot API objects the stand-in produces, written out here because the
 * sandbox may depend on nothing but node built-ins (not even grammY's types).
 */

export type ChatType = 'private' | 'group' | 'supergroup';

export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface BotUser extends User {
  is_bot: true;
  username: string;
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
}

export interface Chat {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [other: string]: unknown;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

export interface Document {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

export interface PhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size?: number;
}

/** The chat a message was sent on behalf of: the group itself, or a channel. */
export interface SenderChat {
  id: number;
  type: ChatType | 'channel';
  title?: string;
  username?: string;
}

export interface Message {
  message_id: number;
  date: number;
  chat: Chat;
  from?: User;
  sender_chat?: SenderChat;
  edit_date?: number;
  text?: string;
  entities?: MessageEntity[];
  caption?: string;
  caption_entities?: MessageEntity[];
  document?: Document;
  /** The sizes of a sent photo, smallest first (here: the one uploaded). */
  photo?: PhotoSize[];
  reply_to_message?: Message;
  reply_markup?: InlineKeyboardMarkup;
  /** Service message in a group upgraded to a supergroup: the supergroup's id. */
  migrate_to_chat_id?: number;
  /** Service message in the new supergroup: the group's old id. */
  migrate_from_chat_id?: number;
}

export interface CallbackQuery {
  id: string;
  from: User;
  message?: Message;
  chat_instance: string;
  data?: string;
}

export interface ChatMemberUpdated {
  chat: Chat;
  from: User;
  date: number;
  old_chat_member: { status: string; user: User };
  new_chat_member: { status: string; user: User; until_date?: number };
}

/** An update as delivered; exactly one payload field besides update_id is set. */
export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  callback_query?: CallbackQuery;
  my_chat_member?: ChatMemberUpdated;
}

export type UpdateType = Exclude<keyof Update, 'update_id'>;

export interface BotCommand {
  command: string;
  description: string;
}

/** A user as the sandbox's callers describe them (the Bot API's User without is_bot). */
export interface SandboxUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

/** A channel a user may write on behalf of (in a group its posts reach). */
export interface SandboxChannel {
  id: number;
  title: string;
  username?: string;
}

export interface SandboxChat {
  id: number;
  type: ChatType;
  title?: string;
}
