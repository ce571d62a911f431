import { GrammyError } from 'grammy';

/** Telegram refused an edit because the message already reads exactly so: nothing to do. */
export function notModified(error: unknown): boolean {
  return error instanceof GrammyError && error.description.includes('message is not modified');
}
