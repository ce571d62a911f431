// /history chart: the last 30 days of deploys as a PNG drawn in the process (resvg), sent
// with sendPhoto to the Telegram stand-in, which reads the image as the Bot API does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyAdmin as admin, startHistoryBot } from '../../helpers/history-bot.js';

const TOKEN = '5550014:AAHistoryChartTestsToken_abcdefghijk';

describe('/history chart', () => {
  let world: Awaited<ReturnType<typeof startHistoryBot>>;
  beforeAll(async () => {
    world = await startHistoryBot(TOKEN);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('answers with a PNG of the last 30 days and a caption that says it in words', async () => {
    const { tg } = world;
    const reply = await world.ask('/history chart');
    expect(reply.photo).toMatchObject([{ width: 960, height: 560 }]);
    expect(reply.caption).toBe(
      '📈 production: 3 deploys in 30 days, 1 not succeeded; the longest took 5 min (a bar’s height is how long it took).',
    );
    const entry = tg.transcript(TOKEN, admin.id).find((e) => e.kind === 'bot_message' && e.photo);
    const png = entry?.kind === 'bot_message' ? entry.photo?.content : undefined;
    expect(png?.subarray(1, 4).toString()).toBe('PNG');
  });

  it('/history answers in text with a Chart button; the button is answered at once, then the chart comes', async () => {
    const { tg } = world;
    const reply = await world.ask('/history');
    expect(reply.photo).toBeUndefined();
    expect(reply.text).toContain('production');
    const button = reply.reply_markup?.inline_keyboard[0]?.[0];
    expect(button?.text).toBe('Chart, 30 days');
    tg.pressButton({
      token: TOKEN,
      chatId: admin.id,
      messageId: reply.message_id,
      data: button!.callback_data!,
      from: admin,
    });
    const chart = await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > reply.message_id, {
      timeoutMs: 10_000,
    });
    expect(chart.photo).toMatchObject([{ width: 960, height: 560 }]);
    const transcript = tg.transcript(TOKEN, admin.id);
    const answered = transcript.findIndex((e) => e.kind === 'callback_answer');
    const photo = transcript.findIndex((e) => e.kind === 'bot_message' && e.message_id === chart.message_id);
    expect(answered).toBeGreaterThanOrEqual(0);
    expect(answered).toBeLessThan(photo);
  });
});
