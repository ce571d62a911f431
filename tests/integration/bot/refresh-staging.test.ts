// /refresh staging over the Telegram stand-in: the production bot's confirmation (the
// asker's only, No cancels, Yes once), the live message with each step and the report, a
// failure said plainly; the staging bot pointing at production; the flag off; missing
// settings named. The refresh itself is a recording stand-in of RefreshControl (the flow is
// tested on real Postgres in tests/integration/refresh/); real Postgres holds the offers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import type { RefreshControl } from '../../../src/refresh/staging-refresh.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { buttonOffers } from '../../../src/store/button-offers.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { createTestDatabase, oneFileAtATime, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;
const SECOND_ADMIN_ID = 3007;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const secondAdmin = { id: SECOND_ADMIN_ID, first_name: 'Bo', username: 'bo' };
const PRODUCTION = '5550071:AAProdTokenForRefreshChatTests_abcde';
const PROD_OFF = '5550072:AAProdTokenRefreshOffChatTests_abcde';
const PROD_UNSET = '5550073:AAProdTokenRefreshUnsetChatTest_abcd';
const STAGING = '5550074:AAStagingTokenForRefreshChat_abcdefg';

// Refreshes make lugh_refresh_* databases on the shared server, which the refresh files look
// at and clean up server-wide: those files run one at a time.
oneFileAtATime('lugh-refresh-temporary-databases');

describe('/refresh staging over the Telegram stand-in', () => {
  let tg: StandIn;
  let db: TestDatabase;
  let stagingDb: TestDatabase;
  let pool: Pool;
  const runtimes: TelegramRuntime[] = [];
  const runs: string[] = [];
  let outcome: 'ok' | 'fail' = 'ok';
  const control: RefreshControl = {
    async run(requestedBy, onProgress) {
      runs.push(requestedBy);
      await onProgress({ side: 'production', step: 'copy' });
      await onProgress({ side: 'production', step: 'anonymise' });
      if (outcome === 'fail')
        throw new Error('the anonymisation rules do not mention public.customers.passport (column); add it');
      await onProgress({ side: 'staging', step: 'restore' });
      return {
        source: 'production-20261201T050000Z-aaaaaaa.dump',
        sourceCommit: 'a'.repeat(40),
        status: {
          state: 'done',
          rows: { customers: 2, orders: 3 },
          backup: 'staging-pre-restore-x.dump',
          ms: 1,
        },
      };
    },
  };
  let chat = 0;
  const nextGroup = () => -(71_000 + ++chat);

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    for (const [token, username] of [
      [PRODUCTION, 'LughBot'],
      [PROD_OFF, 'LughOffBot'],
      [PROD_UNSET, 'LughUnsetBot'],
      [STAGING, 'LughDevBot'],
    ] as const)
      tg.registerBot({ token, username, firstName: 'Lugh' });
    db = await createTestDatabase('prod_lugh');
    stagingDb = await createTestDatabase('staging_lugh');
    const keys = generatePromoteKeys();
    const admins = { ADMIN_IDS: `${ADMIN_ID},${SECOND_ADMIN_ID}` };
    const on = {
      ...admins,
      FEATURE_STAGING_REFRESH: 'on',
      REFRESH_SIGNING_KEY: keys.signingKey,
      REFRESH_HASH_KEY: 'refresh-hash-key-0123456789',
      REFRESH_DIR: '/home/lugh/lugh-refresh',
    };
    const prod = (token: string, extra: Record<string, string>) =>
      instanceConfig({ appEnv: 'production', databaseUrl: db.url, apiRoot: tg.apiRoot, token, extra });
    const configs = [
      prod(PRODUCTION, on),
      prod(PROD_OFF, { ...on, FEATURE_STAGING_REFRESH: 'off' }),
      prod(PROD_UNSET, { ...admins, FEATURE_STAGING_REFRESH: 'on' }),
      instanceConfig({
        databaseUrl: stagingDb.url,
        apiRoot: tg.apiRoot,
        token: STAGING,
        extra: { ...admins, FEATURE_STAGING_REFRESH: 'on' },
      }),
    ];
    const logger = createLogger({
      level: 'warn',
      secrets: secretsOf(configs[0]!),
      destination: { write: () => {} },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'refresh-chat-test');
    for (const config of configs) {
      const { bot } = createBot({
        config,
        logger,
        audit: createAuditLog(pool, config.appEnv),
        redact: createRedactor(secretsOf(config)),
        offers: buttonOffers(pool),
        refresh: config.telegram.token === PRODUCTION ? control : undefined,
      });
      const runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
      await runtime.ready;
      runtimes.push(runtime);
    }
  });

  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await pool?.end();
    await tg?.close();
    await db?.drop();
    await stagingDb?.drop();
  });

  async function say(text: string, chatId: number, token = PRODUCTION, from = admin) {
    const sent = tg.sendText({ token, chat: { id: chatId, type: 'group', title: 'Ops' }, from, text });
    return tg.waitForBotMessage(token, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }
  type Keyed = { reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> } };
  const dataOf = (m: Keyed, text: string) =>
    (m.reply_markup?.inline_keyboard ?? []).flat().find((b) => b.text.startsWith(text))?.callback_data;
  const lastText = (chatId: number, id: number) => {
    const edits = tg
      .transcript(PRODUCTION, chatId)
      .flatMap((e) => (e.kind === 'bot_message' && e.message_id === id ? [e.text] : []));
    return edits.at(-1) ?? '';
  };
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(check()).toBe(true);
  };

  it('confirms first (the asker’s buttons only), then shows each step and the report', async () => {
    const chatId = nextGroup();
    const offer = await say('/refresh staging', chatId);
    expect(offer.text).toMatch(/^Refresh staging with production’s data\?/);
    expect(offer.text).toContain('a table or column the rules do not mention stops it');
    const yes = dataOf(offer, 'Yes')!;
    const other = tg.pressButton({
      token: PRODUCTION,
      chatId,
      messageId: offer.message_id,
      data: yes,
      from: secondAdmin,
    });
    await until(() =>
      tg
        .transcript(PRODUCTION, chatId)
        .some((e) => e.kind === 'callback_answer' && e.callback_query_id === other),
    );
    expect(runs).toEqual([]);
    tg.pressButton({ token: PRODUCTION, chatId, messageId: offer.message_id, data: yes, from: admin });
    await until(() => lastText(chatId, offer.message_id).includes('✅'));
    const text = lastText(chatId, offer.message_id);
    expect(text).toContain('✓ production: a temporary copy of its database');
    expect(text).toContain('✓ staging: the dump restored (one transaction)');
    expect(text).toContain('customers 2, orders 3');
    expect(text).toContain('staging-pre-restore-x.dump');
    expect(runs).toEqual(['@ada']);
  });

  it('No cancels; a failure is said with the refusal’s words', async () => {
    const chatId = nextGroup();
    const offer = await say('/refresh staging', chatId);
    tg.pressButton({
      token: PRODUCTION,
      chatId,
      messageId: offer.message_id,
      data: dataOf(offer, 'No')!,
      from: admin,
    });
    await until(() => lastText(chatId, offer.message_id).startsWith('🚫 Refresh cancelled'));
    outcome = 'fail';
    try {
      const again = await say('/refresh staging', chatId);
      tg.pressButton({
        token: PRODUCTION,
        chatId,
        messageId: again.message_id,
        data: dataOf(again, 'Yes')!,
        from: admin,
      });
      await until(() => lastText(chatId, again.message_id).includes('❌'));
      expect(lastText(chatId, again.message_id)).toContain('public.customers.passport (column)');
    } finally {
      outcome = 'ok';
    }
  });

  it('points staging’s bot at production, and says what is off or missing', async () => {
    const chatId = nextGroup();
    expect((await say('/refresh staging', chatId, STAGING)).text).toMatch(/to the production bot/);
    expect((await say('/refresh staging', chatId, PROD_OFF)).text).toMatch(
      /flag staging_refresh is off in production\. Set FEATURE_STAGING_REFRESH=true/,
    );
    expect((await say('/refresh staging', chatId, PROD_UNSET)).text).toMatch(
      /needs REFRESH_SIGNING_KEY, REFRESH_HASH_KEY, REFRESH_DIR set in production/,
    );
    expect((await say('/refresh', chatId)).text).toMatch(/Send \/refresh staging/);
  });
});
