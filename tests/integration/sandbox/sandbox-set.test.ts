import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '../../helpers/docker.js';
import { type LughProcess, spawnLugh } from '../../helpers/lugh-process.js';

// `lugh sandbox` as a user runs it, driven through its chat page's HTTP API (what the page
// itself calls): a staging /deploy of the seeded develop ships the set lugh.yml declares
// (app ×2 and a worker) on the real Docker engine, /rollback takes it back to main's
// commit (one service: the worker and the second replica go), and Ctrl-C removes every
// container the sets made.

const ADA = { id: 1001, first_name: 'Ada', username: 'ada' };
const STAGING_BOT = 'LughDevBot';

interface Entry {
  kind: string;
  message_id: number;
  text?: string;
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> };
}

describe('lugh sandbox: a set of services, deployed and rolled back from chat', () => {
  let sandbox: LughProcess | undefined;
  afterAll(async () => {
    if (sandbox && sandbox.child.exitCode === null) {
      sandbox.child.kill('SIGINT');
      await Promise.race([sandbox.exited, new Promise((resolve) => setTimeout(resolve, 40_000))]);
      if (sandbox.child.exitCode === null) sandbox.child.kill('SIGKILL');
    }
  });

  it('/deploy staging runs the worker and both app replicas at develop; /rollback to main removes them; Ctrl-C leaves no container', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-set-'));
    const p = spawnLugh(['sandbox', '--port', '0', '--dir', dir], { LOG_LEVEL: 'warn' });
    sandbox = p;
    const output = () => `${p.stdout()}\n${p.stderr()}`.slice(-6000);
    await expect.poll(() => p.stdout(), { timeout: 60_000, interval: 200 }).toContain('Press Ctrl-C');
    const page = p.stdout().match(/chat page\s+(http:\/\/127\.0\.0\.1:\d+)\//)?.[1];
    const repo = p.stdout().match(/ over (\S+) \(develop is ahead/)?.[1];
    const prefix = p.stdout().match(/demo app containers (lugh-sandbox-[0-9a-f]+-)staging-app/)?.[1];
    expect({ page, repo, prefix }, p.stdout()).toEqual({
      page: expect.any(String),
      repo: expect.any(String),
      prefix: expect.any(String),
    });
    const rev = (ref: string) =>
      execFileSync('git', ['--git-dir', repo!, 'rev-parse', ref]).toString().trim();
    const mainSha = rev('main');
    const developSha = rev('develop');
    expect(execFileSync('git', ['--git-dir', repo!, 'show', 'develop:lugh.yml']).toString()).toContain(
      'worker',
    );
    await expect
      .poll(() => p.stdout(), { timeout: 180_000, interval: 500 })
      .toMatch(/Demo app containers are up|could not be built/);
    expect(p.stdout(), output()).toContain('Demo app containers are up');

    const post = async (route: string, body: Record<string, unknown>) => {
      const res = await fetch(`${page}/_sandbox/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ bot: STAGING_BOT, ...body }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    };
    const say = (text: string) =>
      post('send', { chat: { id: ADA.id, type: 'private', first_name: ADA.first_name }, from: ADA, text });
    const press = (entry: Entry, data: string) =>
      post('press', { chatId: ADA.id, messageId: entry.message_id, data, from: ADA });
    const transcript = async (): Promise<Entry[]> => {
      const res = await fetch(`${page}/_sandbox/transcript?bot=${STAGING_BOT}&chatId=${ADA.id}`);
      return ((await res.json()) as { result: Entry[] }).result;
    };
    const botMessage = async (pattern: RegExp, timeout = 180_000): Promise<Entry> => {
      let found: Entry | undefined;
      await expect
        .poll(
          async () => {
            found = (await transcript()).find((e) => e.kind === 'bot_message' && pattern.test(e.text ?? ''));
            return found !== undefined;
          },
          { timeout, interval: 500, message: `no bot message ${pattern}` },
        )
        .toBe(true)
        .catch(async (error: Error) => {
          const last = (await transcript()).map((e) => `${e.kind}: ${e.text ?? ''}`).join('\n');
          throw new Error(`${error.message}\n${last}\nsandbox output:\n${output()}`);
        });
      return found!;
    };

    const docker = createDockerClient();
    const staging = `${prefix}staging-app`;
    /** The staging set's containers, by name: the commit each runs (lugh.sha) and its state. */
    const stagingSet = async () => {
      const listed = await docker.listContainers({ all: true, filters: { name: [`^/${staging}`] } });
      return Object.fromEntries(
        listed
          .map(
            (c) => [c.Names[0]!.replace(/^\//, ''), { sha: c.Labels['lugh.sha'], state: c.State }] as const,
          )
          .filter(([name]) => !name.endsWith('-previous'))
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    };

    // A first release at main's commit (no lugh.yml: one service), so /rollback has one to offer.
    await say('/deploy staging main');
    const first = await botMessage(/(✅|❌|↩️) Deploy #1\b/);
    expect(first.text).toMatch(/✅ Deploy #1 done/);
    expect(await stagingSet()).toEqual({ [staging]: { sha: mainSha, state: 'running' } });

    // develop declares the set: the worker first, then each app replica.
    await say('/deploy staging');
    const second = await botMessage(/(✅|❌|↩️) Deploy #2\b/, 240_000);
    expect(second.text, second.text).toMatch(/✅ Deploy #2 done/);
    // The progress message ends with a line per service: the worker, then both app replicas.
    await expect
      .poll(async () => (await botMessage(/🚀 Deploy #2\b/)).text?.split('\n').slice(-2), { timeout: 30_000 })
      .toEqual(['worker ✅ verified', 'app ✅ 2/2 verified']);
    expect(await stagingSet()).toEqual({
      [staging]: { sha: developSha, state: 'running' },
      [`${staging}-2`]: { sha: developSha, state: 'running' },
      [`${staging}-worker-1`]: { sha: developSha, state: 'running' },
    });

    // /rollback offers #1 (main's commit); the whole set goes back to it.
    await say('/rollback staging');
    const picker = await botMessage(/A rollback takes the whole set back/);
    const release = picker.reply_markup?.inline_keyboard
      .flat()
      .find((b) => b.text.startsWith(mainSha.slice(0, 7)));
    expect(release, JSON.stringify(picker.reply_markup)).toBeDefined();
    await press(picker, release!.callback_data!);
    let confirm: Entry | undefined;
    await expect
      .poll(
        async () => {
          confirm = (await transcript()).find(
            (e) =>
              e.kind === 'bot_message' &&
              e.reply_markup?.inline_keyboard
                .flat()
                .some((b) => /^rollback:yes:/.test(b.callback_data ?? '')),
          );
          return confirm !== undefined;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(true);
    const yes = confirm!
      .reply_markup!.inline_keyboard.flat()
      .find((b) => /^rollback:yes:/.test(b.callback_data ?? ''))!;
    await press(confirm!, yes.callback_data!);
    const third = await botMessage(/(✅|❌|↩️) Deploy #3\b/, 240_000);
    expect(third.text, third.text).toMatch(/✅ Deploy #3 done/);
    expect(await stagingSet()).toEqual({ [staging]: { sha: mainSha, state: 'running' } });

    // Ctrl-C: every container the sandbox and its sets made is gone.
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(await docker.listContainers({ all: true, filters: { name: [`^/${prefix}`] } })).toEqual([]);
  }, 600_000);
});
