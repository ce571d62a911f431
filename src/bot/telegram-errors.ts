import { GrammyError } from 'grammy';

/** Telegram refused an edit because the message already reads exactly so: nothing to do. */
export function notModified(error: unknown): boolean {
  return error instanceof GrammyError && error.description.includes('message is not modified');
}

/**
 * Telegram will never take this edit of this message: it was deleted ("message to edit not
 * found"), cannot be edited ("message can't be edited", an old message), or any other 400
 * or 403 that is not "not modified". Rate limits (429) and server errors (5xx) pass: a
 * later try may work. Sending the text as a new message is what is left.
 */
export function editRefusedForGood(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    (error.error_code === 400 || error.error_code === 403) &&
    !notModified(error)
  );
}

/**
 * The supergroup a group became, when Telegram refused a call to the group's old id
 * (400 "group chat was upgraded to a supergroup chat", `parameters.migrate_to_chat_id`).
 */
export function migratedTo(error: unknown): number | undefined {
  return error instanceof GrammyError ? error.parameters?.migrate_to_chat_id : undefined;
}
