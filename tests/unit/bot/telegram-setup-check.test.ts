import { describe, expect, it } from 'vitest';
import { checkTelegramSetup } from '../../../src/bot/telegram-setup-check.js';

const me = { username: 'LughDevBot', can_join_groups: true, can_read_all_group_messages: false };
const config = { promote: { allowedChatIds: [-5001] }, notify: { chatId: -5001 } } as never;

describe('the Telegram setup check at start', () => {
  it('says privacy mode is enough, and finds nothing wrong with a bot that can join groups', () => {
    const findings = checkTelegramSetup(me, config, new Map());
    expect(findings).toEqual([{ level: 'info', message: expect.stringContaining('privacy mode is on') }]);
  });

  it('warns when groups are configured but the bot cannot join groups, naming the BotFather setting', () => {
    const findings = checkTelegramSetup({ ...me, can_join_groups: false }, config, new Map());
    expect(findings[0]).toEqual({
      level: 'warn',
      message: expect.stringContaining('/setjoingroups → Enable'),
    });
  });

  it('warns for each setting that still names a group which became a supergroup, with what to set', () => {
    const findings = checkTelegramSetup(me, config, new Map([[-5001, -1000000005001]]));
    expect(findings.filter((f) => f.level === 'warn').map((f) => f.message)).toEqual([
      expect.stringContaining('set PROMOTE_CHAT_IDS=-1000000005001'),
      expect.stringContaining('set NOTIFY_CHAT_ID=-1000000005001'),
    ]);
  });
});
