// The sandbox chat page shows a bot's photo (lugh's /history chart) as an image, at phone size.
import { mkdirSync } from 'node:fs';
import { Bot, InputFile } from 'grammy';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { renderHistoryChart } from '../../src/bot/deploys/history-chart.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { chromiumPresent, launchChromium } from '../helpers/chromium.js';

const chromium = chromiumPresent();
const ARTIFACTS = 'tests/artifacts';
const TOKEN = '7100014:AAE-photo_secret-token';
const admin = { id: 1001, first_name: 'Ada', username: 'ada', label: 'admin' };

describe('web chat page: photos', () => {
  let tg: TelegramStandIn | undefined;
  let bot: Bot | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    if (bot?.isRunning()) await bot.stop();
    await tg?.close();
  });

  it.skipIf(!chromium)(
    'a photo the bot sends shows as an image in its bubble, with its caption (needs Debian chromium)',
    async () => {
      tg = await startTelegramStandIn({ pageUsers: [admin] });
      tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
      const now = new Date();
      const rows = [1, 3, 8].map((days, i) => ({
        id: i + 1,
        status: i === 1 ? 'failed' : 'succeeded',
        createdAt: new Date(now.getTime() - days * 86_400_000 - 120_000),
        startedAt: new Date(now.getTime() - days * 86_400_000 - 120_000),
        finishedAt: new Date(now.getTime() - days * 86_400_000),
      }));
      const { png, caption } = await renderHistoryChart('production', rows as never, now);
      bot = new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } });
      bot.command('chart', (ctx) =>
        ctx.replyWithPhoto(new InputFile(png, 'chart.png'), { caption, parse_mode: 'HTML' }),
      );
      await new Promise<void>((resolve, reject) => {
        bot!.start({ onStart: () => resolve() }).catch(reject);
      });

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      page.setDefaultTimeout(10_000);
      await page.goto(`${tg.apiRoot}/`);
      await page.getByTestId('bot-switch').locator('button[data-bot="LughBot"]').click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      const composer = page.getByTestId('composer');
      await composer.fill('/chart');
      await composer.press('Enter');

      const photo = page.getByTestId('photo');
      await photo.waitFor();
      // Loaded from the stand-in, at its own size, fitted to the bubble.
      await expect
        .poll(() => photo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
        .toBe(960);
      const box = await photo.boundingBox();
      expect(box!.width).toBeLessThanOrEqual(390);
      const bubble = page.locator('[data-testid="message"][data-from="bot"]');
      expect(await bubble.textContent()).toContain('production: 3 deploys in 30 days, 1 not succeeded');
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}/chat-page-photo.png` });
    },
    60_000,
  );
});
