// /delivery through the Telegram stand-in: the four figures as a photo's caption under a
// four-panel PNG, admins only, a clear answer to a bad window, and an empty history in words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_CHART_SIZE } from '../../../src/bot/deploys/delivery-chart.js';
import { historyAdmin as admin, startHistoryBot } from '../../helpers/history-bot.js';

const TOKEN = '5550019:AADeliveryFiguresTestsToken_abcdefgh';
const EMPTY_TOKEN = '5550020:AADeliveryEmptyHistoryToken_abcdefg';

/** The width and height a PNG's IHDR chunk says. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('/delivery', () => {
  let world: Awaited<ReturnType<typeof startHistoryBot>>;
  let empty: Awaited<ReturnType<typeof startHistoryBot>>;
  beforeAll(async () => {
    // Production's seed (tests/helpers/history-bot.ts): manual deploys finished 2 and 20 days
    // ago, one failed before it ran 9 days ago (no deploy), one 45 days ago.
    [world, empty] = await Promise.all([
      startHistoryBot(TOKEN),
      startHistoryBot(EMPTY_TOKEN, { seed: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([world?.close(), empty?.close()]);
  });

  it('answers a PNG of four panels with the figures as its caption', async () => {
    const reply = await world.ask('/delivery');
    expect(reply.photo).toMatchObject([DELIVERY_CHART_SIZE]);
    expect(DELIVERY_CHART_SIZE).toEqual({ width: 960, height: 800 });
    expect(reply.caption).toBe(
      [
        '📦 production, last 30 days (against the 30 before; bands: 2021 Accelerate State of DevOps report):',
        'Deploys: 2 (0.5 a week) ▲ from 1 · high',
        'Lead time: no promoted deploy with its first commit’s time',
        'Change failure rate: 0 % (0 of 2) = 0 % before · elite',
        'Time to restore: no failure to restore',
      ].join('\n'),
    );
    const entry = world.tg
      .transcript(TOKEN, admin.id)
      .find((e) => e.kind === 'bot_message' && e.message_id === reply.message_id);
    const png = entry?.kind === 'bot_message' ? entry.photo?.content : undefined;
    expect(pngSize(Buffer.from(png!))).toEqual(DELIVERY_CHART_SIZE);
  });

  it('takes 7 and 90 days', async () => {
    const week = await world.ask('/delivery 7');
    expect(week.caption).toContain('production, last 7 days');
    expect(week.caption).toContain('Deploys: 1 (1.0 a week) ▲ from 0 · high');
    const quarter = await world.ask('/delivery 90');
    expect(quarter.caption).toContain('Deploys: 3 (0.2 a week) ▲ from 0 · high');
  });

  it('answers a bad window or word with what to send', async () => {
    const bad = await world.ask('/delivery 14');
    expect(bad.photo).toBeUndefined();
    expect(bad.text).toBe(
      '“14” is not a window lugh offers. Send /delivery (the last 30 days), /delivery 7 or /delivery 90; the window is 7, 30 or 90 days.',
    );
    const word = await world.ask('/delivery lots');
    expect(word.text).toContain('“lots” is neither a window nor an environment.');
    const other = await world.ask('/delivery 7 staging');
    expect(other.text).toContain('This is the production bot.');
  });

  it('is for admins only', async () => {
    const stranger = { id: 424242, first_name: 'Eve' };
    const refused = await world.ask('/delivery', stranger);
    expect(refused.photo).toBeUndefined();
    expect(refused.text).toContain('/delivery is for lugh admins only');
  });

  it('says an empty history in words, with no chart and no NaN', async () => {
    const reply = await empty.ask('/delivery');
    expect(reply.photo).toBeUndefined();
    expect(reply.text).toBe('📦 production, last 30 days: no deploys in 30 days (nor in the 30 before).');
  });
});
