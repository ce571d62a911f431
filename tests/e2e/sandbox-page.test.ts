import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumPresent, launchChromium } from '../helpers/chromium.js';
import { createDockerClient } from '../helpers/docker.js';
import { type SandboxRun, startSandbox, stopSandbox } from '../helpers/sandbox-run.js';

const chromium = chromiumPresent();

describe('lugh sandbox, as a new user starts it from the README', () => {
  let sandbox: SandboxRun | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    stopSandbox(sandbox);
  });

  it.skipIf(!chromium)(
    'npm run sandbox prints the chat page; in Chromium, /help gets the staging bot’s reply (needs Debian chromium)',
    async () => {
      const run = startSandbox();
      sandbox = run;
      const out = run.output;
      await expect.poll(out, { timeout: 60_000, interval: 200 }).toContain('Press Ctrl-C');
      const pageUrl = out().match(/chat page\s+(http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
      expect(pageUrl, out()).toBeDefined();
      expect(out()).toMatch(/you are Ada \(id 1001\), an admin/);

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      page.setDefaultTimeout(20_000);
      await page.goto(pageUrl!);
      // Ada opens a chat with the production bot too: it reports the production deploy there.
      await page.getByTestId('bot-switch').locator('button[data-bot="LughBot"]').click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      await page.getByTestId('composer').fill('/start');
      await page.getByTestId('composer').press('Enter');
      await page.locator('[data-testid="message"][data-from="bot"]').first().waitFor();
      await page.getByTestId('bot-switch').locator('button[data-bot="LughDevBot"]').click();
      await page.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      const composer = page.getByTestId('composer');
      await composer.fill('/help');
      await composer.press('Enter');
      const reply = page.locator('[data-testid="message"][data-from="bot"]').filter({ hasText: '/whoami' });
      await reply.waitFor();
      const text = (await reply.textContent()) ?? '';
      expect(text).toContain('STAGING');
      expect(text).toContain('Lugh Dev (staging)');
      expect(text).toContain('/promote');
      expect(await reply.locator('b').first().textContent()).toBe('STAGING');

      mkdirSync('tests/artifacts', { recursive: true });
      await page.screenshot({ path: 'tests/artifacts/sandbox-help.png' });

      // The whole promotion from the page: plan, live CI, the prompt, one tap, merged.
      await composer.fill('/promote');
      await composer.press('Enter');
      const bot = page.locator('[data-testid="message"][data-from="bot"]');
      await bot.filter({ hasText: 'Promoting develop → main' }).waitFor();
      const prompt = bot.filter({ hasText: 'Merge and deploy to production?' });
      await prompt.waitFor({ timeout: 60_000 });
      expect(await bot.filter({ hasText: 'all green' }).count()).toBe(1);
      // The keyboard sits under the bubble, in the same message row.
      await page
        .locator('.msg', { has: prompt })
        .getByTestId('inline-button')
        .filter({ hasText: 'Merge & deploy' })
        .click();
      await bot.filter({ hasText: '✅ Merged' }).waitFor({ timeout: 30_000 });
      expect(await bot.filter({ hasText: 'Production deploy handed over' }).count()).toBe(1);
      await page.screenshot({ path: 'tests/artifacts/sandbox-promote.png', fullPage: true });

      // The production bot claims the handed-over deploy and runs it on the demo app container.
      await page.getByTestId('bot-switch').locator('button[data-bot="LughBot"]').click();
      const prod = page.locator('[data-testid="message"][data-from="bot"]');
      const result = prod.filter({ hasText: /(✅|❌|↩️) Deploy #1\b/ });
      await result.waitFor({ timeout: 120_000 }).catch((error: Error) => {
        throw new Error(`${error.message}\nsandbox output:\n${out().slice(-4000)}`);
      });
      expect(await result.textContent()).toMatch(/✅ Deploy #1 done/);
      expect(await prod.filter({ hasText: '🚀 Deploy #1' }).count()).toBe(1);
      // The promotion carried develop's set (lugh.yml): the progress message on the page
      // ends with a line per service.
      const progress = prod.filter({ hasText: '🚀 Deploy #1' });
      await progress.filter({ hasText: 'worker ✅ verified' }).waitFor({ timeout: 30_000 });
      expect(await progress.textContent()).toContain('app ✅ 2/2 verified');
      await page.screenshot({ path: 'tests/artifacts/sandbox-deploy.png', fullPage: true });

      // /doctor audits the demo containers (own networks, the compose files' limits) and the
      // two instances' settings.
      await composer.fill('/doctor');
      await composer.press('Enter');
      const audit = prod.filter({ hasText: 'Isolation audit' });
      await audit.waitFor({ timeout: 30_000 });
      const auditText = (await audit.textContent()) ?? '';
      expect(auditText).toContain('✅ The apps share no network and cannot resolve or reach each other');
      expect(auditText).toContain('✅ Bot tokens differ');
      expect(auditText).toContain('✅ Resource limits give production priority');
      // Production's set (app-2, worker-1) is audited as its app container is.
      expect(auditText).toContain('✅ Every service of each set is isolated as its app is');
      expect(auditText).toContain('-prod-app-worker-1 (worker)');

      // Ctrl-C stops everything the sandbox started, in order, and says so.
      run.interrupt();
      await expect.poll(out, { timeout: 40_000 }).toContain('"msg":"stopped"');
      // Redis is stopped after the bots let go of it, not by the same Ctrl-C.
      expect(out()).not.toContain('ECONNREFUSED');
      // And the demo app containers it built are gone.
      const prefix = out().match(/demo app containers (lugh-sandbox-[0-9a-f]+-)staging-app/)?.[1];
      expect(prefix).toBeDefined();
      const docker = createDockerClient();
      expect(await docker.listContainers({ all: true, filters: { name: [`^/${prefix}`] } })).toEqual([]);
      expect((await docker.listNetworks()).filter((n) => n.Name.startsWith(prefix!))).toEqual([]);
    },
    300_000,
  );
});
