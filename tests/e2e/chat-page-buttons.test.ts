import { mkdirSync } from 'node:fs';
import { Bot } from 'grammy';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { choiceText } from '../../src/bot/features/restore.js';
import { createPromotionChat } from '../../src/bot/promotion/chat-port.js';
import type { PullRequestInfo } from '../../src/forge/forge.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import type { Promotion } from '../../src/store/promotions.js';
import { launchChromium } from '../helpers/chromium.js';

const ARTIFACTS = 'tests/artifacts';
const STAGING = '7100011:AAE-staging_buttons-token';
const admin = { id: 1001, first_name: 'Ada', username: 'ada', is_bot: false };

describe('lugh’s buttons on a phone', () => {
  let tg: TelegramStandIn | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    await tg?.close();
    browser = undefined;
    tg = undefined;
  });

  it('the promotion’s keyboards show every label whole at 390 px (approve, decline, update develop)', async () => {
    tg = await startTelegramStandIn({ pageUsers: [{ ...admin, label: 'admin' }] });
    tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.sendText({ token: STAGING, chat: { id: admin.id, type: 'private' }, from: admin, text: '/promote' });
    const api = new Bot(STAGING, { client: { apiRoot: tg.apiRoot } }).api;
    const chat = createPromotionChat(() => api);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 10 * 60_000);
    const promotion = {
      id: 7,
      headSha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      prNumber: 42,
      prUrl: 'https://github.com/acme/app/pull/42',
    } as Promotion;
    await chat.send(admin.id, { kind: 'prompt', promotion, expiresAt, now, twoPerson: false }, [
      { action: 'approve', data: 'p:1' },
      { action: 'decline', data: 'p:2' },
    ]);
    const pull = { number: 42, url: 'https://github.com/acme/app/pull/42' } as PullRequestInfo;
    await chat.send(admin.id, { kind: 'behind', pull, expiresAt, now }, [{ action: 'update', data: 'u:1' }]);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    page.setDefaultTimeout(10_000);
    await page.goto(`${tg.apiRoot}/#bot=LughDevBot&user=admin`);
    const buttons = page.getByTestId('inline-button');
    await expect.poll(() => buttons.count()).toBe(3);
    const labels = await buttons.evaluateAll((nodes) =>
      nodes.map((n) => ({ text: n.textContent ?? '', whole: n.scrollWidth <= n.clientWidth })),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/chat-page-buttons.png` });
    expect(labels).toEqual([
      { text: 'Merge & deploy', whole: true },
      { text: 'No', whole: true },
      { text: 'Update develop from main', whole: true },
    ]);
  }, 60_000);

  it('the /restore picker shows every backup’s label whole at 390 px, one backup a row', async () => {
    tg = await startTelegramStandIn({ pageUsers: [{ ...admin, label: 'admin' }] });
    tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.sendText({ token: STAGING, chat: { id: admin.id, type: 'private' }, from: admin, text: '/restore' });
    const api = new Bot(STAGING, { client: { apiRoot: tg.apiRoot } }).api;
    const takenAt = new Date('2026-11-30T16:43:00Z');
    const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    const choices = [
      { file: 'prod-1.dump', token: 't1', kind: 'deploy', takenAt, deploymentId: 12345, sha },
      { file: 'prod-2.dump', token: 't2', kind: 'deploy', takenAt, sha },
      { file: 'prod-3.dump', token: 't3', kind: 'pre-restore', takenAt, sha },
    ] as const;
    await api.sendMessage(admin.id, 'Which backup?', {
      reply_markup: {
        inline_keyboard: choices.map((c) => [{ text: choiceText(c), callback_data: c.token }]),
      },
    });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    page.setDefaultTimeout(10_000);
    await page.goto(`${tg.apiRoot}/#bot=LughDevBot&user=admin`);
    const buttons = page.getByTestId('inline-button');
    await expect.poll(() => buttons.count()).toBe(3);
    const cut = await buttons.evaluateAll((nodes) =>
      nodes.filter((n) => n.scrollWidth > n.clientWidth).map((n) => n.textContent),
    );
    await page.screenshot({ path: `${ARTIFACTS}/chat-page-restore-buttons.png` });
    expect(cut).toEqual([]);
  }, 60_000);
});
