import type { Api } from 'grammy';
import type { Logger } from '../logger.js';
import type { CommandInfo } from './context.js';
import { commandsFor } from './features/help.js';
import { isChatNotFound } from './notifications/chat-probe.js';

const menu = (commands: readonly CommandInfo[], isAdmin: boolean) =>
  commandsFor(commands, isAdmin).map((c) => ({ command: c.command, description: c.description }));

/**
 * One admin's full command menu, scoped to their private chat. Telegram refuses it with
 * "chat not found" until that admin has written to the bot: then it is one warning line
 * (no stack), and the caller publishes it again when the admin first writes (chat-reach.ts).
 */
export async function publishAdminMenu(
  api: Api,
  commands: readonly CommandInfo[],
  adminId: number,
  logger: Logger,
): Promise<boolean> {
  try {
    await api.setMyCommands(menu(commands, true), { scope: { type: 'chat', chat_id: adminId } });
    return true;
  } catch (error) {
    if (isChatNotFound(error))
      logger.warn(
        { adminId },
        `admin ${adminId} has not opened a chat with this bot: their command menu is published when they first write to it`,
      );
    else logger.warn({ err: error, adminId }, 'could not publish the admin command menu for this admin');
    return false;
  }
}

/**
 * Publishes the command menu: everyone's commands by default, and the full list in each
 * admin's private chat. A Bot API that refuses (or lacks) setMyCommands is logged, never
 * fatal. Answers the admins whose menu was refused (to publish when they first write).
 */
export async function publishCommands(
  api: Api,
  commands: readonly CommandInfo[],
  adminIds: readonly number[],
  logger: Logger,
): Promise<{ readonly published: boolean; readonly refusedAdmins: readonly number[] }> {
  try {
    await api.setMyCommands(menu(commands, false));
  } catch (error) {
    logger.warn({ err: error }, 'setMyCommands failed; the command menu is not published');
    return { published: false, refusedAdmins: [] };
  }
  const refusedAdmins: number[] = [];
  for (const id of adminIds) {
    if (!(await publishAdminMenu(api, commands, id, logger))) refusedAdmins.push(id);
  }
  return { published: true, refusedAdmins };
}
