// /restore's confirmation button as grammY hands it to the feature (handleUpdate, outgoing
// calls answered by an API transformer, the buttons' offer from a stub of the store): an
// expired one, an older list's, or another's restores nothing and says so.
import { describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import type { DeployControl } from '../../../src/deploys/deploy-control.js';
import type { RestoreControl } from '../../../src/deploys/restore-control.js';
import type { ButtonOffer } from '../../../src/store/button-offers.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { silentLogger } from '../../helpers/logger.js';

const TOKEN = '5550031:AAProdTokenForRestoreButtons_abcdefgh';

const OFFER = 12;

function world(offer: { expired: boolean }) {
  const restores: string[] = [];
  const stored: ButtonOffer = {
    id: OFFER,
    kind: 'restore',
    env: 'production',
    requestedBy: ADMIN_ID,
    requestedByName: '@ada',
    chatId: ADMIN_ID,
    expiresAt: new Date(Date.now() + (offer.expired ? -1_000 : 60_000)),
    expired: offer.expired,
  };
  const deploys = {
    env: 'production',
    deployments: { buttonOffer: async (id: number) => (id === OFFER ? stored : undefined) },
  } as unknown as DeployControl;
  const calls: Array<{ method: string; payload: Record<string, unknown> }> = [];
  const restore: RestoreControl = {
    env: 'production',
    list: async () => [],
    find: async (token) =>
      token === '20261130T120000Z-abcdef1'
        ? {
            file: `production-${token}.dump`,
            token,
            kind: 'deploy',
            takenAt: new Date(),
            deploymentId: 3,
            sha: 'abcdef1'.padEnd(40, '0'),
          }
        : undefined,
    restore: async ({ token }) => {
      restores.push(token);
      return { outcome: 'missing' };
    },
  };
  const config = instanceConfig({
    appEnv: 'production',
    databaseUrl: 'postgres://lugh@127.0.0.1:1/prod_lugh',
    apiRoot: 'http://127.0.0.1:1',
    token: TOKEN,
    redisUrl: 'redis://127.0.0.1:1',
  });
  const { bot } = createBot({
    config,
    logger: silentLogger,
    audit: { record: async () => {}, recent: async () => [] },
    redact: (t) => t,
    restore,
    deploys,
  });
  bot.botInfo = {
    id: 5550031,
    is_bot: true,
    first_name: 'Lugh',
    username: 'LughBot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  } as typeof bot.botInfo;
  bot.api.config.use(async (_prev, method, payload) => {
    calls.push({ method, payload: payload as Record<string, unknown> });
    return { ok: true, result: true } as never;
  });
  let updateId = 0;
  const tap = (data: string, fromId = ADMIN_ID) =>
    bot.handleUpdate({
      update_id: ++updateId,
      callback_query: {
        id: `q${updateId}`,
        from: { id: fromId, is_bot: false, first_name: 'Ada' },
        chat_instance: 'c',
        data,
        message: {
          message_id: 7,
          date: Math.floor(Date.now() / 1000),
          chat: { id: fromId, type: 'private', first_name: 'Ada' },
          text: 'Restore …?',
        },
      },
    });
  return { tap, calls, restores };
}

describe('/restore’s confirmation button', () => {
  const go = `restore:go:${OFFER}:20261130T120000Z-abcdef1`;

  it('past its offer’s expiry: restores nothing, says it expired, and the message says so', async () => {
    const { tap, calls, restores } = world({ expired: true });
    await tap(go);
    expect(restores).toEqual([]);
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.payload).toMatchObject({
      show_alert: true,
      text: 'These buttons expired; nothing was restored. Send /restore again.',
    });
    expect(calls.find((c) => c.method === 'editMessageText')?.payload.text).toContain(
      'These buttons expired; the database was not touched.',
    );
  });

  it('from a list sent before buttons were offers: restores nothing and says to send /restore again', async () => {
    const { tap, calls, restores } = world({ expired: false });
    await tap(`restore:go:20261130T120000Z-abcdef1:${Math.floor(Date.now() / 1000)}`);
    expect(restores).toEqual([]);
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.payload).toMatchObject({
      show_alert: true,
      text: expect.stringContaining('Send /restore again'),
    });
  });

  it('within the window: restores (and a stranger’s tap is refused)', async () => {
    const { tap, restores, calls } = world({ expired: false });
    await tap(go, STRANGER_ID);
    expect(restores).toEqual([]);
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.payload).toMatchObject({
      show_alert: true,
    });
    await tap(go);
    expect(restores).toEqual(['20261130T120000Z-abcdef1']);
  });
});
