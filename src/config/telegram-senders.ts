/**
 * Telegram's stand-in senders: a message written anonymously as a group comes from
 * GroupAnonymousBot, one written on behalf of a channel from Channel_Bot, and forwards of a
 * linked channel from Telegram's service account. Each id stands for many people, so none
 * of them can be an admin.
 */
export const TELEGRAM_STAND_IN_SENDERS: Readonly<Record<number, string>> = {
  1087968824: 'GroupAnonymousBot (anonymous group admins)',
  136817688: 'Channel_Bot (messages sent on behalf of a channel)',
  777000: 'Telegram (forwards from a linked channel)',
};

/** The stand-in sender an id is, or undefined for a person's own id. */
export function standInSender(id: number): string | undefined {
  return TELEGRAM_STAND_IN_SENDERS[id];
}
