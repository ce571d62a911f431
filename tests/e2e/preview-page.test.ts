import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { caddyOnPath } from '../../src/sandbox/caddy-server.js';
import { chromiumPresent, launchChromium } from '../helpers/chromium.js';
import { createDockerClient, dockerAvailable } from '../helpers/docker.js';
import { type SandboxRun, startSandbox, stopSandbox } from '../helpers/sandbox-run.js';

// Issue 18's walk in the sandbox, as a user does it in Chromium: "Simulate a PR" on the
// GitHub stand-in's page, /previews on the chat page lists the preview running and healthy,
// its URL (http://pr-<n>.preview.localhost:<port>/, through the sandbox's Caddy) shows the
// pull request's greeting at its commit, "Close" on the GitHub page takes it away (the URL
// no longer serves the app, /previews no longer lists it), and Ctrl-C leaves nothing behind.

const chromium = chromiumPresent();
const docker = createDockerClient();
const caddy = await caddyOnPath();
if (!caddy && process.env.CI) throw new Error('CI needs caddy on PATH: .ci/run installs Debian’s caddy');
const ready = chromium && (await dockerAvailable(docker)) && caddy;
const GREETING = 'Hello from the preview page test';

describe('lugh sandbox: a preview environment from the GitHub stand-in’s page, in Chromium', () => {
  let sandbox: SandboxRun | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    stopSandbox(sandbox);
  });

  it.skipIf(!ready)(
    'Simulate a PR → /previews lists it healthy → its URL shows the change → Close → the URL no longer serves it (needs Debian chromium, Docker and caddy)',
    async () => {
      const run = startSandbox();
      sandbox = run;
      const out = run.output;
      const fail = (error: Error) => {
        throw new Error(`${error.message}\nsandbox output:\n${out().slice(-4000)}`);
      };
      await expect.poll(out, { timeout: 90_000, interval: 200 }).toContain('Press Ctrl-C');
      const chatUrl = out().match(/chat page\s+(http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
      const githubPage = out().match(/"Simulate a PR" on (http:\/\/127\.0\.0\.1:\d+\/_sandbox\/)/)?.[1];
      const previewPort = out().match(/URL {6}http:\/\/pr-<n>\.preview\.localhost:(\d+)\//)?.[1];
      const prefix = out().match(/demo app containers (lugh-sandbox-[0-9a-f]+-)staging-app/)?.[1];
      expect({ chatUrl, githubPage, previewPort, prefix }, out()).toEqual({
        chatUrl: expect.any(String),
        githubPage: expect.any(String),
        previewPort: expect.any(String),
        prefix: expect.any(String),
      });

      browser = await launchChromium();
      const chat = await browser.newPage({ viewport: { width: 390, height: 844 } });
      chat.setDefaultTimeout(20_000);
      await chat.goto(chatUrl!);
      await chat.getByTestId('bot-switch').locator('button[data-bot="LughDevBot"]').click();
      await chat.getByTestId('user-switch').locator('button[data-user="admin"]').click();
      const bot = chat.locator('[data-testid="message"][data-from="bot"]');
      const say = async (text: string) => {
        await chat.getByTestId('composer').fill(text);
        await chat.getByTestId('composer').press('Enter');
      };
      await say('/start');
      await bot.first().waitFor();

      // The developer opens a pull request into develop that makes the app greet at /.
      const github = await browser.newPage();
      github.setDefaultTimeout(20_000);
      await github.goto(githubPage!);
      await github.locator('#simulate input[name="greeting"]').fill(GREETING);
      await github.locator('#simulate button[type="submit"]').click();
      const row = github.locator('#pulls tr[data-state="open"]').first();
      await row.waitFor();
      const pr = Number((await row.getAttribute('id'))?.replace('pull-', ''));
      const head = (await row.locator('code').textContent())?.trim() ?? '';
      expect({ pr, head }).toEqual({ pr: expect.any(Number), head: expect.stringMatching(/^[0-9a-f]{7}$/) });

      // Staging builds and starts it; /previews says when it runs healthy, and where.
      const url = `http://pr-${pr}.preview.localhost:${previewPort}/`;
      const listed = bot.filter({ hasText: `#${pr} ` }).filter({ hasText: '✅ running, healthy' });
      await expect
        .poll(
          async () => {
            if ((await listed.count()) > 0) return true;
            await say('/previews');
            await new Promise((resolve) => setTimeout(resolve, 4_000));
            return (await listed.count()) > 0;
          },
          { timeout: 240_000, interval: 500 },
        )
        .toBe(true)
        .catch(fail);
      expect(await listed.last().textContent()).toContain(url);
      mkdirSync('tests/artifacts', { recursive: true });
      await chat.screenshot({ path: 'tests/artifacts/preview-listed.png', fullPage: true });

      // /doctor audits it as it audits the environments: the sandbox's preview passes.
      await say('/doctor');
      const audit = bot.filter({ hasText: 'Isolation audit' }).last();
      await audit.waitFor({ timeout: 60_000 });
      const auditText = (await audit.textContent()) ?? '';
      expect(auditText).toContain('✅ Every preview is isolated');
      expect(auditText).toMatch(/1 preview\(s\) \(label lugh\.preview=lugh-sandbox-[0-9a-f]+\)/);
      expect(auditText).toContain("✅ Staging's preview settings lead nowhere near production");

      // Its URL, through the sandbox's Caddy: the pull request's app at the pull request's commit.
      const preview = await browser.newPage();
      await preview.goto(url);
      expect(await preview.locator('#greeting').textContent()).toBe(GREETING);
      expect(await preview.locator('#commit').textContent()).toMatch(new RegExp(`^${head}`));
      await preview.screenshot({ path: 'tests/artifacts/preview-open.png' });

      // Closing the pull request takes the preview away: the URL serves no app any more.
      await github.locator(`#pull-${pr} button[data-action="close"]`).click();
      await github.locator(`#pull-${pr}[data-state="closed"]`).waitFor();
      await expect
        .poll(
          async () => {
            const answer = await preview.goto(url).catch(() => null);
            return answer !== null && (await preview.locator('#greeting').count()) > 0;
          },
          { timeout: 120_000, interval: 1_000 },
        )
        .toBe(false)
        .catch(fail);
      // The route goes first (no request meets a container on its way out), then the container.
      await expect
        .poll(
          async () =>
            (
              await docker.listContainers({ all: true, filters: { name: [`^/${prefix}preview-pr-${pr}$`] } })
            ).map((c) => `${c.Names[0]} ${c.Status}`),
          { timeout: 60_000, interval: 500 },
        )
        .toEqual([]);
      await say('/previews');
      await bot.filter({ hasText: 'No previews' }).last().waitFor({ timeout: 30_000 });

      // Ctrl-C removes everything of the run, the previews' networks too.
      run.interrupt();
      await expect.poll(out, { timeout: 40_000 }).toContain('"msg":"stopped"');
      expect(await docker.listContainers({ all: true, filters: { name: [`^/${prefix}`] } })).toEqual([]);
      expect((await docker.listNetworks()).filter((n) => n.Name.startsWith(prefix!))).toEqual([]);
    },
    420_000,
  );
});
