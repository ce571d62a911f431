import { mkdirSync, writeFileSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { type SandboxRun, startSandbox, stopSandbox } from '../helpers/sandbox-run.js';

const ADA = 1001;

interface BotEntry {
  text?: string;
  reply_markup?: unknown;
}

/** Screenshots of each key message, kept as the test's artifacts (tests/artifacts/ is gitignored). */
const SHOTS = 'tests/artifacts/phone-release';

/** The chat page as a phone shows it, driven as a person would: typing, and tapping what the bot shows. */
function phone(page: Page) {
  const bot = page.locator('[data-testid="message"][data-from="bot"]');
  const composer = page.getByTestId('composer');
  let shot = 0;
  return {
    bot,
    async open(handle: 'LughDevBot' | 'LughBot') {
      await page.getByTestId('bot-switch').locator(`button[data-bot="${handle}"]`).click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
    },
    async say(text: string) {
      await composer.fill(text);
      await composer.press('Enter');
    },
    /** Taps a /command inside a bot message, as in Telegram: it is sent at once. */
    async tapCommand(message: Locator, command: string) {
      await message
        .locator('.command', { hasText: new RegExp(`^${command}$`) })
        .first()
        .click();
      await page.locator('[data-testid="message"][data-from="user"]', { hasText: command }).last().waitFor();
    },
    /** The message's own screenshot, and its text beside it; the newest message is in view. */
    async keep(name: string, message: Locator) {
      await message.scrollIntoViewIfNeeded();
      const file = `${SHOTS}/${String(++shot).padStart(2, '0')}-${name}`;
      await page.locator('.row', { has: message }).screenshot({ path: `${file}.png` });
      writeFileSync(`${file}.txt`, (await message.textContent()) ?? '');
    },
    /** Opens a group the bot is in, by the button the page shows for it after the bot's. */
    async openGroup(id: number) {
      await page.getByTestId('bot-switch').locator(`button[data-chat="${id}"]`).click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
    },
    /** Every inline button on the page shows its whole label at this width (none is cut with "…"). */
    async cutButtons(): Promise<string[]> {
      return page
        .getByTestId('inline-button')
        .evaluateAll((nodes) =>
          nodes.filter((n) => n.scrollWidth > n.clientWidth).map((n) => n.textContent ?? ''),
        );
    },
    /** The newest message's bottom is inside the visible part of the chat. */
    async newestInView(): Promise<boolean> {
      return page.locator('#messages').evaluate((list) => {
        const rows = list.querySelectorAll('.row');
        const last = rows[rows.length - 1];
        if (!last) return false;
        const box = last.getBoundingClientRect();
        const view = list.getBoundingClientRect();
        return box.bottom <= view.bottom + 1 && box.bottom > view.top;
      });
    },
  };
}

describe('a release from a phone, through the sandbox chat page at 390×844', () => {
  let sandbox: SandboxRun | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    stopSandbox(sandbox);
  });

  it('walks /help → tap /promote → the Open @LughBot warning → Merge & deploy → the report in the notify group and, after /start, in the production chat, without opening @LughBot first; every button whole, each key message kept as a screenshot', async () => {
    const run = startSandbox();
    sandbox = run;
    const out = run.output;
    await expect.poll(out, { timeout: 90_000, interval: 200 }).toContain('Press Ctrl-C');
    const pageUrl = out().match(/chat page\s+(http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
    expect(pageUrl, out()).toBeDefined();
    const group = Number(out().match(/notify chat .*\(id (-\d+)\)/)?.[1]);
    expect(group, out()).toBeLessThan(0);
    /** A chat's messages from the bot, as the Telegram stand-in keeps them. */
    const transcript = async (bot: string, chatId: number): Promise<BotEntry[]> => {
      const res = await fetch(`${pageUrl}_sandbox/transcript?bot=${bot}&chatId=${chatId}`);
      const body = (await res.json()) as { result: Array<BotEntry & { kind: string }> };
      return body.result.filter((e) => e.kind === 'bot_message');
    };
    mkdirSync(SHOTS, { recursive: true });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    page.setDefaultTimeout(30_000);
    await page.goto(pageUrl!);
    const p = phone(page);

    // Staging: /help lists what it does; its /promote is tapped, not typed.
    await p.open('LughDevBot');
    await p.say('/help');
    const help = p.bot.filter({ hasText: '/whoami' }).last();
    await help.waitFor();
    await p.keep('staging-help', help);
    await p.tapCommand(help, '/promote');

    const plan = p.bot.filter({ hasText: 'Promoting develop → main' });
    await plan.waitFor();
    await p.keep('promotion-plan', plan);
    const prompt = p.bot.filter({ hasText: 'Merge and deploy to production?' });
    await prompt.waitFor({ timeout: 90_000 });
    await expect.poll(() => p.newestInView()).toBe(true);
    await p.keep('ci-green', p.bot.filter({ hasText: 'all green' }));

    // Ada never opened @LughBot: before asking, staging says so, with a button that opens it.
    const reach = p.bot.filter({ hasText: 'cannot write to you' });
    expect(await reach.count()).toBe(1);
    expect(await reach.textContent()).toMatch(/@LughBot cannot write to you.*\/start/s);
    const open = page.locator('.msg', { has: reach }).getByTestId('inline-button');
    expect(await open.allTextContents()).toEqual(['Open @LughBot↗']);
    const texts = await p.bot.allTextContents();
    expect(texts.findIndex((t) => t.includes('cannot write to you'))).toBeLessThan(
      texts.findIndex((t) => t.includes('Merge and deploy to production?')),
    );
    const stagingChat = await transcript('LughDevBot', ADA);
    expect(stagingChat.find((e) => e.text?.includes('cannot write to you'))?.reply_markup).toEqual({
      inline_keyboard: [[{ text: 'Open @LughBot', url: 'https://t.me/LughBot?start=reports' }]],
    });
    await p.keep('reach-warning', reach);

    await p.keep('approval-prompt', prompt);
    expect(await p.cutButtons()).toEqual([]);
    await page
      .locator('.msg', { has: prompt })
      .getByTestId('inline-button')
      .filter({ hasText: 'Merge & deploy' })
      .click();

    const handed = p.bot.filter({ hasText: 'Production deploy handed over' });
    await handed.waitFor({ timeout: 60_000 });
    await p.keep('merged-and-handed-over', handed);

    // Production cannot write to Ada yet: its report reaches the notify group, which the
    // stand-in's transcript shows first and the chat page then shows as Ada sees the group.
    const done = /(✅|❌|↩️) production: deploy #(\d+) of /;
    await expect
      .poll(async () => (await transcript('LughBot', group)).some((e) => done.test(e.text ?? '')), {
        timeout: 180_000,
        interval: 1_000,
      })
      .toBe(true)
      .catch((error: Error) => {
        throw new Error(`${error.message}\nsandbox output:\n${out().slice(-4000)}`);
      });
    const groupReport = (await transcript('LughBot', group)).find((e) => done.test(e.text ?? ''))!;
    expect(groupReport.text).toMatch(/^✅ production: deploy #\d+ of \S+ done/);
    const deployNumber = done.exec(groupReport.text!)![2];
    await p.openGroup(group);
    await expect.poll(() => page.locator('#chat-title').textContent()).toBe('lugh ops');
    const groupMessage = p.bot.filter({ hasText: `production: deploy #${deployNumber} of ` });
    await groupMessage.waitFor();
    expect(await groupMessage.textContent()).toContain(groupReport.text!.split('\n')[0]);
    await expect.poll(() => p.newestInView()).toBe(true);
    await p.keep('notify-group-report', groupMessage);
    expect(await p.cutButtons()).toEqual([]);
    expect(await transcript('LughBot', ADA)).toEqual([]);

    // Ada opens the production bot: after its /start reply comes the report kept for her.
    await p.open('LughBot');
    await p.say('/start');
    const report = p.bot.filter({ hasText: new RegExp(`(✅|❌|↩️) Deploy #${deployNumber}\\b`) });
    await report.last().waitFor({ timeout: 60_000 });
    expect(await report.last().textContent()).toMatch(new RegExp(`✅ Deploy #${deployNumber} done`));
    const order = await p.bot.allTextContents();
    expect(order[0]).toContain('runs the production environment');
    await expect.poll(() => p.newestInView()).toBe(true);
    await p.keep('production-report-after-start', report.last());

    await p.say('/help');
    const prodHelp = p.bot.filter({ hasText: '/whoami' }).last();
    await prodHelp.waitFor();
    await p.keep('production-help', prodHelp);
    expect(await prodHelp.textContent()).toContain('Promotions start on the staging bot');
    expect(await prodHelp.locator('.command', { hasText: /^\/promote$/ }).count()).toBe(1);

    await p.say('/doctor');
    const audit = p.bot.filter({ hasText: '🩺 Isolation audit' });
    await audit.waitFor({ timeout: 60_000 });
    await p.keep('production-doctor', audit);
    expect(await p.cutButtons()).toEqual([]);
    // The sandbox's own failures say that the sandbox expects them, and why; names are shown
    // where they are no secret.
    const auditText = (await audit.textContent()) ?? '';
    const failures = auditText.split('\n\n').filter((block) => block.startsWith('❌'));
    expect(failures.length).toBeGreaterThan(0);
    for (const block of failures) expect(block).toMatch(/\nExpected in the sandbox: \S/);
    expect(auditText).toMatch(/❌ \d+ failed \(all expected in the sandbox\)/);
    expect(auditText).not.toContain('[redacted]');

    // Ctrl-C stops everything the sandbox started.
    run.interrupt();
    await expect.poll(out, { timeout: 40_000 }).toContain('"msg":"stopped"');
  }, 420_000);
});
