// What lugh checks of its Telegram setup once the token is accepted: things Telegram does
// not refuse but that leave lugh deaf or talking to an old chat. Logged at start; the
// setup Telegram would refuse (a webhook URL it cannot call) is refused by the config.
import type { UserFromGetMe } from 'grammy/types';
import type { Config } from '../config/index.js';
import { settingsNaming } from '../notifications/chat-migrations.js';

export interface SetupFinding {
  readonly level: 'info' | 'warn';
  readonly message: string;
}

/** The findings for this bot (getMe), its settings, and the groups known to have moved. */
export function checkTelegramSetup(
  me: Pick<UserFromGetMe, 'username' | 'can_join_groups' | 'can_read_all_group_messages'>,
  config: Pick<Config, 'promote' | 'notify'>,
  moved: ReadonlyMap<number, number>,
): SetupFinding[] {
  const findings: SetupFinding[] = [];
  const groups = [...config.promote.allowedChatIds, config.notify.chatId].filter((id) => id < 0);
  if (groups.length > 0 && !me.can_join_groups) {
    findings.push({
      level: 'warn',
      message: `@${me.username} cannot be added to groups, yet PROMOTE_CHAT_IDS or NOTIFY_CHAT_ID names a group (${groups.join(', ')}): in @BotFather, /setjoingroups → Enable`,
    });
  }
  findings.push(
    me.can_read_all_group_messages
      ? {
          level: 'info',
          message: `privacy mode is off for @${me.username}: it sees every group message and ignores commands addressed to other bots`,
        }
      : {
          level: 'info',
          message: `privacy mode is on for @${me.username}: in groups it gets only commands and replies to it, which is all lugh needs`,
        },
  );
  for (const [from, to] of moved) {
    for (const s of settingsNaming(config, from, to)) {
      findings.push({
        level: 'warn',
        message: `${s.variable} names chat ${from}, which became supergroup ${to}: lugh follows it, but set ${s.variable}=${s.should}`,
      });
    }
  }
  return findings;
}
