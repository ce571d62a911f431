import { mkdirSync } from 'node:fs';
import { Bot, InlineKeyboard, InputFile } from 'grammy';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { chromiumPresent, launchChromium } from '../helpers/chromium.js';

const chromium = chromiumPresent();
const ARTIFACTS = 'tests/artifacts';

const STAGING = '7100001:AAE-staging_secret-token';
const PRODUCTION = '7100002:AAF-production_secret-token';
const admin = { id: 1001, first_name: 'Ada', username: 'ada', label: 'admin' };
const stranger = { id: 2002, first_name: 'Sam', username: 'sam', label: 'stranger' };

/** A small real grammY bot: HTML help, a button that edits its message, a chat action, a document. */
function stagingBot(tg: TelegramStandIn): Bot {
  const bot = new Bot(STAGING, { client: { apiRoot: tg.apiRoot } });
  bot.command('help', (ctx) =>
    ctx.reply(
      '🧪 STAGING · <b>lugh</b> helps you ship.\n<i>/deploy</i> asks first, <code>/log</code> sends a file. ' +
        '<a href="https://example.com/docs">Docs</a> · &lt;img src=x onerror=alert(1)&gt;',
      { parse_mode: 'HTML' },
    ),
  );
  bot.command('deploy', async (ctx) => {
    await ctx.replyWithChatAction('typing');
    await new Promise((resolve) => setTimeout(resolve, 400));
    await ctx.reply('🧪 STAGING · Deploy <b>develop</b> to staging?', {
      parse_mode: 'HTML',
      reply_markup: new InlineKeyboard().text('Deploy', 'deploy:yes').text('Cancel', 'deploy:no'),
    });
  });
  bot.command('log', (ctx) =>
    ctx.replyWithDocument(new InputFile(Buffer.from('line 1\nline 2\n'), 'deploy.log'), {
      caption: 'The last deploy',
    }),
  );
  bot.callbackQuery('deploy:yes', async (ctx) => {
    await ctx.editMessageText('🧪 STAGING · ✅ Deploying <b>develop</b>…', { parse_mode: 'HTML' });
    await ctx.answerCallbackQuery({ text: 'Deployment queued' });
  });
  return bot;
}

async function startPolling(bot: Bot): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    bot.start({ onStart: () => resolve() }).catch(reject);
  });
}

const messages = (page: Page, from?: 'bot' | 'user') =>
  page.locator(from ? `[data-testid="message"][data-from="${from}"]` : '[data-testid="message"]');

describe('web chat page on the Telegram stand-in', () => {
  let tg: TelegramStandIn | undefined;
  let bot: Bot | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    if (bot?.isRunning()) await bot.stop();
    await tg?.close();
    browser = undefined;
    bot = undefined;
    tg = undefined;
  });

  it.skipIf(!chromium)(
    'chats with a real grammY bot in Chromium: HTML reply, a tapped /command is sent, button edits in place with a toast, a separate chat per user (needs Debian chromium)',
    async () => {
      tg = await startTelegramStandIn({ pageUsers: [admin, stranger] });
      tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh (staging)' });
      tg.registerBot({ token: PRODUCTION, username: 'LughBot', firstName: 'Lugh' });
      bot = stagingBot(tg);
      await bot.api.setMyCommands([
        { command: 'help', description: 'What I can do' },
        { command: 'deploy', description: 'Deploy develop to staging' },
      ]);
      await startPolling(bot);

      // The page learns bots by handle; no token ever reaches it.
      const bots = (await (await fetch(`${tg.apiRoot}/_sandbox/bots`)).json()) as { result: unknown[] };
      expect(bots.result).toEqual([
        { handle: 'LughDevBot', username: 'LughDevBot', first_name: 'Lugh (staging)' },
        { handle: 'LughBot', username: 'LughBot', first_name: 'Lugh' },
      ]);
      const html = await (await fetch(`${tg.apiRoot}/`)).text();
      for (const secret of ['staging_secret', 'production_secret']) {
        expect(html).not.toContain(secret);
        expect(JSON.stringify(bots)).not.toContain(secret);
      }

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('dialog', (dialog) => {
        problems.push(`a dialog opened: ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.setDefaultTimeout(10_000);
      await page.goto(`${tg.apiRoot}/`);

      const botSwitch = page.getByTestId('bot-switch');
      await expect
        .poll(() => botSwitch.getByRole('button').allTextContents())
        .toEqual([expect.stringContaining('@LughDevBot'), expect.stringContaining('@LughBot')]);
      await botSwitch.locator('button[data-bot="LughDevBot"]').click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      await expect.poll(() => page.locator('#chat-title').textContent()).toBe('Lugh (staging)');

      // /help: the reply's HTML formatting is rendered from its entities, its text stays text.
      const composer = page.getByTestId('composer');
      await composer.fill('/help');
      await composer.press('Enter');
      await messages(page, 'user').filter({ hasText: '/help' }).waitFor();
      const help = messages(page, 'bot').filter({ hasText: 'helps you ship' });
      await help.waitFor();
      expect(await help.locator('b').first().textContent()).toBe('lugh');
      expect(await help.locator('i').first().textContent()).toBe('/deploy');
      expect(await help.locator('code').first().textContent()).toBe('/log');
      expect(await help.locator('a').getAttribute('href')).toBe('https://example.com/docs');
      expect(await help.textContent()).toContain('<img src=x onerror=alert(1)>');
      expect(await help.locator('img').count()).toBe(0);
      expect(await composer.inputValue()).toBe('');

      // "/" offers the bot's commands.
      await composer.fill('/');
      await expect
        .poll(() => page.getByTestId('command-suggestion').allTextContents())
        .toEqual([expect.stringContaining('/help'), expect.stringContaining('/deploy')]);
      await composer.fill('');
      // A /command inside a bot message is tapped, as in Telegram: it is sent at once.
      await help.locator('.command', { hasText: '/deploy' }).click();
      await messages(page, 'user').filter({ hasText: '/deploy' }).waitFor();
      await expect.poll(() => page.getByTestId('chat-status').textContent()).toBe('typing…');
      const prompt = messages(page, 'bot').filter({ hasText: 'Deploy develop to staging?' });
      await prompt.waitFor();
      const promptId = await prompt.getAttribute('data-message-id');
      expect(await prompt.getByText('edited').count()).toBe(0);

      // Tapping the button edits that same message in place and shows the callback answer.
      await page.getByTestId('inline-button').filter({ hasText: 'Deploy' }).click();
      const edited = messages(page, 'bot').filter({ hasText: 'Deploying develop' });
      await edited.waitFor();
      expect(await edited.getAttribute('data-message-id')).toBe(promptId);
      expect(await edited.getByTestId('edited').textContent()).toBe('edited');
      expect(await edited.locator('b').textContent()).toBe('develop');
      expect(await page.locator(`[data-testid="message"][data-message-id="${promptId}"]`).count()).toBe(1);
      expect(await page.getByTestId('inline-button').count()).toBe(0);
      await expect.poll(() => page.getByTestId('toast').textContent()).toBe('Deployment queued');

      // A document arrives as a download link that serves the bot's bytes.
      await composer.fill('/log');
      await page.getByTestId('send').click();
      const link = page.getByTestId('document');
      await link.waitFor();
      expect(await link.textContent()).toContain('deploy.log');
      const download = await fetch(new URL((await link.getAttribute('href'))!, tg.apiRoot));
      expect(download.headers.get('content-disposition')).toContain('attachment');
      expect(await download.text()).toBe('line 1\nline 2\n');

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}/chat-page.png` });

      // The stranger has a chat of their own with the same bot.
      await page.getByTestId('user-switch').locator('button[data-user="stranger"]').click();
      await page.getByTestId('empty-chat').waitFor();
      expect(await messages(page).count()).toBe(0);
      expect(await page.getByTestId('toast').isHidden()).toBe(true);
      await composer.fill('/help');
      await composer.press('Enter');
      await messages(page, 'bot').filter({ hasText: 'helps you ship' }).waitFor();
      expect(await messages(page).count()).toBe(2);
      const strangerChat = tg.transcript(STAGING, stranger.id);
      expect(strangerChat.filter((e) => e.kind === 'user_message').map((e) => e.from.first_name)).toEqual([
        'Sam',
      ]);
      await page.screenshot({ path: `${ARTIFACTS}/chat-page-stranger.png` });

      // Back to the admin: their chat is still there, and production is another chat again.
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      await edited.waitFor();
      expect(await messages(page).count()).toBe(tg.transcript(STAGING, admin.id).filter(isMessage).length);
      await botSwitch.locator('button[data-bot="LughBot"]').click();
      await page.getByTestId('empty-chat').waitFor();

      await page.setViewportSize({ width: 1280, height: 800 });
      await botSwitch.locator('button[data-bot="LughDevBot"]').click();
      await edited.waitFor();
      await page.screenshot({ path: `${ARTIFACTS}/chat-page-desktop.png` });
      expect(problems).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!chromium)(
    'opens at the newest message, also when the bot writes while the page opens, and leaves a reader who scrolled up where they are (needs Debian chromium)',
    async () => {
      tg = await startTelegramStandIn({ pageUsers: [admin, stranger] });
      tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh (staging)' });
      const api = new Bot(STAGING, { client: { apiRoot: tg.apiRoot } }).api;
      const { label: _label, ...from } = admin;
      tg.sendText({ token: STAGING, chat: { id: admin.id, type: 'private' }, from, text: '/start' });
      for (let i = 1; i <= 40; i++) await api.sendMessage(admin.id, `Earlier message ${i}`);

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      page.setDefaultTimeout(10_000);
      await page.goto(`${tg.apiRoot}/#bot=LughDevBot&user=admin`);
      await expect.poll(() => messages(page).count()).toBe(41);
      // A tall message lands while the page is still settling on the history.
      await api.sendMessage(
        admin.id,
        ['Newest:', 'CI', 'build ✅', 'test ✅', 'lint ✅', 'the end'].join('\n'),
      );
      const newest = messages(page, 'bot').filter({ hasText: 'the end' });
      await newest.waitFor();
      await expect.poll(() => newestInView(page)).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/chat-page-opens-at-newest.png` });

      // A reader who scrolled up to read stays where they are when the next message lands.
      await page.locator('#messages').evaluate(async (list) => {
        const scrolled = new Promise((resolve) => list.addEventListener('scroll', resolve, { once: true }));
        list.scrollTo({ top: 0 });
        await scrolled;
      });
      await api.sendMessage(admin.id, 'Later, while reading above');
      await messages(page, 'bot').filter({ hasText: 'Later, while reading above' }).waitFor();
      expect(await page.locator('#messages').evaluate((list) => list.scrollTop)).toBe(0);
      expect(await newestInView(page)).toBe(false);
    },
    60_000,
  );

  it.skipIf(!chromium)(
    'shows a group the bot is in (#chat=<id> or its button): its title, its messages and document link, button presses and sends in that group as the stand-in knows it; a group it is not in falls back to its private chat with a toast saying so (needs Debian chromium)',
    async () => {
      tg = await startTelegramStandIn({ pageUsers: [admin, stranger] });
      tg.registerBot({ token: PRODUCTION, username: 'LughBot', firstName: 'Lugh' });
      const ops = { id: -1001001, type: 'group' as const, title: 'lugh ops' };
      const { label: _label, ...from } = admin;
      tg.sendText({ token: PRODUCTION, chat: ops, from, text: '@LughBot reports here' });
      const groups = (await (await fetch(`${tg.apiRoot}/_sandbox/groups?bot=LughBot`)).json()) as {
        result: unknown;
      };
      expect(groups.result).toEqual([ops]);
      bot = new Bot(PRODUCTION, { client: { apiRoot: tg.apiRoot } });
      bot.command('ping', (ctx) =>
        ctx.reply(`pong in ${ctx.chat.type} ${'title' in ctx.chat ? ctx.chat.title : ''}`),
      );
      bot.callbackQuery('ack', async (ctx) => {
        await ctx.editMessageText(`✅ Seen by ${ctx.from.first_name}`);
        await ctx.answerCallbackQuery({ text: 'Noted' });
      });
      await bot.api.sendMessage(ops.id, '✅ production: deploy #1 done', {
        reply_markup: new InlineKeyboard().text('Seen', 'ack'),
      });
      await bot.api.sendDocument(ops.id, new InputFile(Buffer.from('step log\n'), 'deploy-1.log'));
      await startPolling(bot);

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.setDefaultTimeout(10_000);
      await page.goto(`${tg.apiRoot}/#bot=LughBot&user=admin&chat=-1001001`);
      await expect.poll(() => page.locator('#chat-title').textContent()).toBe('lugh ops');
      await expect.poll(() => page.getByTestId('chat-status').textContent()).toBe('group');
      const report = messages(page, 'bot').filter({ hasText: 'deploy #1 done' });
      await report.waitFor();
      expect(await messages(page, 'user').first().textContent()).toContain('@LughBot reports here');
      const botSwitch = page.getByTestId('bot-switch');
      expect(await botSwitch.locator('button[data-chat="-1001001"]').getAttribute('aria-pressed')).toBe(
        'true',
      );
      expect(await botSwitch.locator('button[data-bot="LughBot"]').getAttribute('aria-pressed')).toBe(
        'false',
      );
      expect(await botSwitch.locator('button[data-chat="-1001001"]').textContent()).toContain('lugh ops');

      // The document link names the group's chat and serves the bot's bytes.
      const link = page.getByTestId('document');
      await link.waitFor();
      const download = await fetch(new URL((await link.getAttribute('href'))!, tg.apiRoot));
      expect(await download.text()).toBe('step log\n');

      // A press in the group reaches the bot from that group, and edits the group's message.
      await page.getByTestId('inline-button').filter({ hasText: 'Seen' }).click();
      await messages(page, 'bot').filter({ hasText: 'Seen by Ada' }).waitFor();
      await expect.poll(() => page.getByTestId('toast').textContent()).toBe('Noted');

      // A send goes into the group as a group message, with the title the stand-in knows.
      await page.getByTestId('composer').fill('/ping');
      await page.getByTestId('composer').press('Enter');
      await messages(page, 'bot').filter({ hasText: 'pong in group lugh ops' }).waitFor();
      const sent = tg.transcript(PRODUCTION, ops.id).flatMap((e) => (e.kind === 'user_message' ? [e] : []));
      expect(sent.map((e) => e.text)).toEqual(['@LughBot reports here', '/ping']);
      expect(sent[1]?.message.chat).toEqual(ops);
      expect(tg.transcript(PRODUCTION, admin.id)).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}/chat-page-group.png` });

      // The bot's own button is its private chat again; the group's button brings the group back.
      await botSwitch.locator('button[data-bot="LughBot"]').click();
      await expect.poll(() => page.locator('#chat-title').textContent()).toBe('Lugh');
      await page.getByTestId('empty-chat').waitFor();
      expect(new URL(page.url()).hash).toBe('#bot=LughBot&user=admin');
      await botSwitch.locator('button[data-chat="-1001001"]').click();
      await messages(page, 'bot').filter({ hasText: 'Seen by Ada' }).waitFor();
      expect(new URL(page.url()).hash).toBe('#bot=LughBot&user=admin&chat=-1001001');

      // An address naming a group the bot is not in shows its private chat, and says so.
      const lost = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await lost.goto(`${tg.apiRoot}/#bot=LughBot&user=admin&chat=-42`);
      await expect
        .poll(() => lost.getByTestId('toast').textContent())
        .toBe('Lugh is in no group -42; showing its private chat (its groups have buttons after it)');
      expect(await lost.locator('#chat-title').textContent()).toBe('Lugh');
      expect(problems).toEqual([]);
    },
    60_000,
  );
});

/** The last message's bottom is inside the visible part of the chat. */
function newestInView(page: Page): Promise<boolean> {
  return page.locator('#messages').evaluate((list) => {
    const rows = list.querySelectorAll('.row');
    const last = rows[rows.length - 1];
    if (!last) return false;
    const box = last.getBoundingClientRect();
    const view = list.getBoundingClientRect();
    return box.bottom <= view.bottom + 1 && box.bottom > view.top;
  });
}

const isMessage = (entry: { kind: string }): boolean =>
  entry.kind === 'user_message' || entry.kind === 'bot_message';
