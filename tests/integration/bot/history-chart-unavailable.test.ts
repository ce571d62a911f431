// /history chart where resvg's native binding cannot load (an image without librt.so.1):
// the bot still starts, /history still answers, and the chart is refused with what is
// wrong and what to do.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHistoryBot } from '../../helpers/history-bot.js';

const TOKEN = '5550015:AAHistoryChartMissingLibToken_abcdefg';

// What Node says when the binding's shared library is missing.
vi.mock('@resvg/resvg-js', () => {
  throw new Error('librt.so.1: cannot open shared object file: No such file or directory');
});

describe('/history chart without resvg’s native library', () => {
  let world: Awaited<ReturnType<typeof startHistoryBot>>;
  beforeAll(async () => {
    world = await startHistoryBot(TOKEN);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('the chart is refused with why and what to do; the list still comes', async () => {
    const refused = await world.ask('/history chart');
    expect(refused.photo).toBeUndefined();
    expect(refused.text).toBe(
      'The chart cannot be drawn here: librt.so.1: cannot open shared object file: No such file or directory. ' +
        'The image lacks a system library that @resvg/resvg-js needs (see README, /history chart); /history gives the list.',
    );
    expect((await world.ask('/history')).text).toContain('production');
  });

  it('/delivery still gives its figures in words, then why the chart did not come', async () => {
    const reply = await world.ask('/delivery');
    expect(reply.photo).toBeUndefined();
    expect(reply.text).toContain('Deploys: 2 (0.5 a week) ▲ from 1 · high');
    expect(reply.text).toContain(
      'The chart cannot be drawn here: librt.so.1: cannot open shared object file: No such file or directory. ' +
        'The image lacks a system library that @resvg/resvg-js needs (see README, /history chart); the figures are above.',
    );
  });
});
