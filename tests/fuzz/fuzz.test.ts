// Fuzzing the running staging bot through the Telegram stand-in: generated updates with a
// fixed seed. FUZZ_COUNT sets how many (`npm run fuzz` sends 10,000; `npm test` a few hundred).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  createPromotionWorld,
  type PromotionWorld,
  STAGING_TOKEN,
  stranger,
} from '../helpers/promotion-world.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 11);
const PRIVILEGED = ['promote', 'deploy', 'rollback', 'lock', 'unlock', 'logs', 'doctor'];
const COMMANDS = [
  ...PRIVILEGED,
  'start',
  'help',
  'status',
  'version',
  'whoami',
  'flags',
  'history',
  'delivery',
  'nope',
];
const META = [
  '<',
  '>',
  '&',
  '"',
  "'",
  '<b>',
  '</i>',
  '&amp;',
  '&#',
  '*',
  '_',
  '`',
  '[x](y)',
  '\\',
  '|',
  '~',
  '#',
  '<a href="x">',
  '\u0000',
  '🧪',
  '\u202e',
];

/** mulberry32: small, seeded, good enough to spread the cases. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: generated updates through the running bot', () => {
  let world: PromotionWorld;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const figures = { updates: 0, replies: 0, refusals: 0, strangerPrivileged: 0, crashes: 0, durationMs: 0 };

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    world = await createPromotionWorld({ webhooks: false });
  }, 120_000);

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await world?.close();
  });

  it(`${COUNT} updates (seed ${SEED}): no crash, no unhandled rejection, every reply parsed, every stranger refused and audited`, async () => {
    const rnd = random(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const word = () =>
      Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        rnd() < 0.5
          ? pick(META)
          : pick(['staging', 'production', 'main', '2h', 'x', '-1', '999999999999', '']),
      ).join('');
    const text = () => {
      const r = rnd();
      if (r < 0.1) return 'A<&>'.repeat(1 + Math.floor(rnd() * 1023)).slice(0, 4096);
      const args = Array.from({ length: Math.floor(rnd() * 4) }, word).join(' ');
      if (r < 0.8) return `/${pick(COMMANDS)}${rnd() < 0.1 ? '@OtherBot' : ''}${args ? ` ${args}` : ''}`;
      return args || word();
    };
    const started = Date.now();
    const strangerPrivileged = new Map<string, number>();
    let lastId = 0;
    for (let i = 0; i < COUNT; i++) {
      const from = rnd() < 0.5 ? stranger : admin;
      const group = rnd() < 0.15;
      const chat = group
        ? { id: -100500, type: 'group' as const, title: 'ops <&>' }
        : { id: from.id, type: 'private' as const };
      const kind = rnd();
      if (kind < 0.75) {
        const t = text() || '.';
        const sent = world.say(from, t, chat);
        lastId = Math.max(lastId, sent.message_id);
        const cmd = /^\/(\w+)(?:\s|$)/.exec(t)?.[1];
        if (from === stranger && cmd && PRIVILEGED.includes(cmd))
          strangerPrivileged.set(cmd, (strangerPrivileged.get(cmd) ?? 0) + 1);
      } else if (kind < 0.85) {
        // A button of another bot (or of lugh, forged), pressed on lugh's last message there.
        const mine = world.tg.transcript(STAGING_TOKEN, chat.id).filter((e) => e.kind === 'bot_message');
        const target = mine.at(-1);
        if (target?.kind !== 'bot_message') continue;
        // The stand-in only presses real buttons; another bot's data arrives as a raw update.
        world.tg.injectUpdate(STAGING_TOKEN, {
          callback_query: {
            id: `fuzz-${i}`,
            from: { ...from, is_bot: false },
            chat_instance: 'fuzz',
            message: { message_id: target.message_id, date: 0, chat, text: 'x' },
            data: pick(['other:bot:1', 'promote:yes:1', 'rb:1:x', 'd:999:go', word().slice(0, 64) || 'x']),
          },
        });
      } else if (kind < 0.93) {
        world.tg.injectUpdate(STAGING_TOKEN, {
          edited_message: {
            message_id: lastId || 1,
            date: Math.floor(Date.now() / 1000),
            edit_date: Math.floor(Date.now() / 1000),
            chat,
            from: { ...from, is_bot: false },
            text: text(),
          },
        });
      } else {
        world.tg.injectUpdate(
          STAGING_TOKEN,
          pick([
            { message_reaction: { chat, message_id: 1, date: 0, old_reaction: [], new_reaction: [] } },
            { poll: { id: 'p', question: '<b>?', options: [], total_voter_count: 0, is_closed: false } },
            { my_chat_member: { chat, from: { ...from, is_bot: false }, date: 0 } },
            {
              channel_post: {
                message_id: 1,
                date: 0,
                chat: { id: -1009, type: 'channel', title: 'c' },
                text: '/deploy staging',
              },
            },
            { unknown_future_kind: { x: '<&>' } },
          ]),
        );
      }
      figures.updates++;
      // Let the bot keep up (it answers one chat at a time); no assertion depends on time.
      if (i % 20 === 19)
        await world.tg
          .waitForBotMessage(STAGING_TOKEN, admin.id, () => true, { timeoutMs: 1 })
          .catch(() => {});
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
    }
    // Wait until every privileged command of the stranger was audited (or give up after a while).
    const expected = [...strangerPrivileged.values()].reduce((a, b) => a + b, 0);
    figures.strangerPrivileged = expected;
    const deadline = Date.now() + 60_000;
    let audited = 0;
    while (Date.now() < deadline) {
      const [row] = await world.rows(
        `SELECT count(*)::int AS n FROM audit_log WHERE actor_id = $1 AND outcome = 'refused'`,
        [stranger.id],
      );
      audited = row.n;
      if (audited >= expected) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    figures.durationMs = Date.now() - started;
    const calls = world.tg.calls(STAGING_TOKEN);
    figures.replies = calls.filter((c) =>
      ['sendMessage', 'editMessageText', 'sendDocument', 'answerCallbackQuery'].includes(c.method),
    ).length;
    figures.refusals = audited;
    const logs = world.logLines.join('\n');
    figures.crashes = (logs.match(/"level":(50|60)/g) ?? []).length;
    console.log(`fuzz figures (seed ${SEED}): ${JSON.stringify(figures)}`);

    expect(rejections).toEqual([]);
    // Every reply was accepted by the stand-in's entity parser.
    expect(logs).not.toContain("can't parse entities");
    // No update reached the error boundary.
    expect(logs.match(/"level":(50|60)[^\n]*/g) ?? []).toEqual([]);
    // Every privileged command of the stranger was refused and audited (nothing done for them).
    expect(audited).toBeGreaterThanOrEqual(expected);
    const [done] = await world.rows(
      `SELECT count(*)::int AS n FROM audit_log WHERE actor_id = $1 AND outcome = 'ok'`,
      [stranger.id],
    );
    expect(done.n).toBe(0);
    // The bot still answers.
    const sent = world.say(admin, '/version');
    await world.waitFor(admin.id, (m) => m.message_id > sent.message_id);
  }, 600_000);
});
