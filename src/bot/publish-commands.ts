import type { Api } from 'grammy';
import type { Logger } from '../logger.js';
import type { CommandInfo } from './context.js';
import { commandsFor } from './features/help.js';

/**
 * Publishes the command menu: everyone's commands by default, and the full list in each
 * admin's private chat. A Bot API that refuses (or lacks) setMyCommands is logged, never fatal.
 */
export async function publishCommands(
  api: Api,
  commands: readonly CommandInfo[],
  adminIds: readonly number[],
  logger: Logger,
): Promise<boolean> {
  const menu = (isAdmin: boolean) =>
    commandsFor(commands, isAdmin).map((c) => ({ command: c.command, description: c.description }));
  try {
    await api.setMyCommands(menu(false));
  } catch (error) {
    logger.warn({ err: error }, 'setMyCommands failed; the command menu is not published');
    return false;
  }
  let complete = true;
  for (const id of adminIds) {
    // Fails with "chat not found" until that admin has opened a chat with the bot.
    await api.setMyCommands(menu(true), { scope: { type: 'chat', chat_id: id } }).catch((error: unknown) => {
      complete = false;
      logger.warn({ err: error, adminId: id }, 'could not publish the admin command menu for this admin');
    });
  }
  return complete;
}
