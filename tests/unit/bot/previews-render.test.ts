// /previews' texts and buttons: each state and health in words, a fork waiting for an
// admin, the empty list, a long list paged under Telegram's limits, the logs escaped and
// cut, the failure notice, and /status's previews line.
import { describe, expect, it } from 'vitest';
import { renderPreviewFailed } from '../../../src/bot/notifications/preview-text.js';
import { PREVIEW_BUTTON, previewButton, readPreviewButton } from '../../../src/bot/previews/buttons.js';
import {
  buttonUrl,
  logsText,
  NO_PREVIEWS,
  outcomeText,
  PAGE_SIZE,
  pullLinkOf,
  renderPreviewList,
} from '../../../src/bot/previews/render.js';
import { previewsLine, renderStatus } from '../../../src/bot/status/render.js';
import { plainLength, TELEGRAM_TEXT_LIMIT } from '../../../src/bot/telegram-limits.js';
import type { PreviewView } from '../../../src/previews/preview.js';

const now = new Date('2026-12-01T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const sha = (c: string) => c.repeat(40);

function view(pr: number, over: Partial<PreviewView> = {}): PreviewView {
  return {
    pr,
    state: 'running',
    health: 'healthy',
    headSha: sha('a'),
    headRef: `feature-${pr}`,
    runningSha: sha('a'),
    author: 'octocat',
    fork: false,
    url: `https://pr-${pr}.preview.example.com/`,
    createdAt: hoursAgo(5),
    lastPushAt: hoursAgo(3),
    updatedAt: hoursAgo(3),
    ...over,
  };
}

const link = pullLinkOf({ apiUrl: 'https://api.github.com', repo: { owner: 'acme', name: 'shop' } });
const list = (views: PreviewView[], page = 0) =>
  renderPreviewList(views, { offerId: 42, page, link, now, asker: '@ada', expiresIn: '5 min', max: 3 });
const buttons = (r: ReturnType<typeof list>) =>
  (r.keyboard?.inline_keyboard ?? []).map((row) => row.map((b) => ({ ...b })));

describe('/previews listing', () => {
  it('names each preview: its pull request (linked), author, age since the last push, state, SHA and URL', () => {
    const { text } = list([view(7)]);
    expect(text).toContain('<a href="https://github.com/acme/shop/pull/7">#7</a>');
    expect(text).toContain('by octocat');
    expect(text).toContain('pushed 3 h 0 min ago');
    expect(text).toContain('<code>aaaaaaa</code>');
    expect(text).toContain('✅ running, healthy');
    expect(text).toContain('https://pr-7.preview.example.com/');
    expect(text).toContain('(max 3 running)');
    expect(text).toMatch(/buttons are for @ada and expire in 5 min/);
  });

  it('a view’s own pull request link wins; another API server without one links nothing', () => {
    expect(list([view(7, { prUrl: 'http://127.0.0.1:9/acme/shop/pull/7' })]).text).toContain(
      '<a href="http://127.0.0.1:9/acme/shop/pull/7">#7</a>',
    );
    const standIn = pullLinkOf({ apiUrl: 'http://127.0.0.1:9999', repo: { owner: 'acme', name: 'shop' } });
    const { text } = renderPreviewList([view(7)], {
      offerId: 1,
      page: 0,
      link: standIn,
      now,
      asker: 'x',
      expiresIn: '5 min',
    });
    expect(text).toContain('<b>#7</b>');
    expect(text).not.toContain('<a href');
  });

  it('says each state and health in words: starting, failed with its reason, stopped with why, unhealthy', () => {
    const text = list([
      view(1, { state: 'building', runningSha: sha('b'), headSha: sha('c') }),
      view(2, { state: 'failed', reason: 'health check failed: <boom> after 60 s', runningSha: undefined }),
      view(3, { state: 'stopped', reason: 'stopped by the cap: #9 is newer', runningSha: undefined }),
      view(4, { health: 'unhealthy' }),
      view(5, { health: 'missing' }),
    ]).text;
    expect(text).toContain('⏳ building (<code>bbbbbbb</code> serves meanwhile)');
    // The commit asked for is the one shown while it builds.
    expect(text).toContain('<code>ccccccc</code>');
    expect(text).toContain('❌ failed to start: health check failed: &lt;boom&gt; after 60 s');
    expect(text).toContain('⏸ stopped: stopped by the cap: #9 is newer');
    expect(text).toContain('⚠️ running, unhealthy');
    expect(text).toContain('❌ running, but its container is gone');
  });

  it('a running preview has Open, Redeploy, Logs and Tear down, each for the offer and its pull request', () => {
    const r = list([view(7)]);
    const [row] = buttons(r);
    expect(row!.map((b) => b.text)).toEqual(['Open #7', 'Redeploy', 'Logs', 'Tear down']);
    expect(row![0]).toMatchObject({ url: 'https://pr-7.preview.example.com/' });
    expect(
      row!.slice(1).map((b) => readPreviewButton((b as { callback_data: string }).callback_data)),
    ).toEqual([
      { action: 'redeploy', offerId: 42, pr: 7 },
      { action: 'logs', offerId: 42, pr: 7 },
      { action: 'down', offerId: 42, pr: 7 },
    ]);
  });

  it('a fork waiting for an admin says so and offers only Start, marked untrusted', () => {
    const r = list([view(8, { fork: true, state: 'stopped', runningSha: undefined, url: undefined })]);
    expect(r.text).toContain('(fork)');
    expect(r.text).toContain('✋ fork: waiting for an admin to start it');
    const [row] = buttons(r);
    expect(row!.map((b) => b.text)).toEqual(['▶️ Start #8 (fork: untrusted code)']);
    expect(readPreviewButton((row![0] as { callback_data: string }).callback_data)).toEqual({
      action: 'fork',
      offerId: 42,
      pr: 8,
    });
  });

  it('no Open button for a URL Telegram refuses in buttons (localhost, an IP address): the URL stays in the text', () => {
    expect(buttonUrl('http://pr-7.preview.localhost:8080/')).toBe(false);
    expect(buttonUrl('http://127.0.0.1:40123/')).toBe(false);
    expect(buttonUrl('https://pr-7.preview.example.com/')).toBe(true);
    const r = list([view(7, { url: 'http://127.0.0.1:40123/' })]);
    expect(buttons(r)[0]!.map((b) => b.text)).toEqual(['Redeploy', 'Logs', 'Tear down']);
    expect(r.text).toContain('http://127.0.0.1:40123/');
  });

  it('an empty list says how previews start', () => {
    const r = list([]);
    expect(r.text).toBe(NO_PREVIEWS);
    expect(r.text).toMatch(/pull request into develop/);
    expect(r.keyboard).toBeUndefined();
  });

  it('a long list is paged: each page under Telegram’s limits, with a Later button saying how many more', () => {
    const many = Array.from({ length: 23 }, (_, i) =>
      view(i + 1, { state: 'failed', reason: 'x'.repeat(500), author: 'a'.repeat(60) }),
    );
    const first = list(many);
    expect(plainLength(first.text)).toBeLessThan(TELEGRAM_TEXT_LIMIT);
    expect(first.text).toContain('page 1 of 5');
    const rows = buttons(first);
    expect(rows).toHaveLength(PAGE_SIZE + 1);
    expect(rows.at(-1)!.map((b) => b.text)).toEqual(['Later › (18 more)']);
    const last = list(many, 4);
    expect(last.text).toContain('page 5 of 5');
    expect(last.text).toContain('#23');
    expect(last.text).not.toContain('#20<');
    expect(
      buttons(last)
        .at(-1)!
        .map((b) => b.text),
    ).toEqual(['‹ Earlier']);
    for (const row of [...rows, ...buttons(last)])
      for (const b of row) {
        const data = (b as { callback_data?: string }).callback_data;
        if (data) expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      }
  });
});

describe('/previews buttons', () => {
  it('reads back what it built, and nothing else', () => {
    expect(readPreviewButton(previewButton('down-yes', 123456789012, 999999999))).toEqual({
      action: 'down-yes',
      offerId: 123456789012,
      pr: 999999999,
    });
    expect(readPreviewButton('pv:zz:1:2')).toBeUndefined();
    expect(PREVIEW_BUTTON.test('pv:td:1:2:3')).toBe(false);
  });
});

describe('/previews texts', () => {
  it('logs: the last lines in a <pre> block, redacted and escaped, the newest kept when long', () => {
    const redact = (t: string) => t.replaceAll('hunter2', '[redacted]');
    const text = logsText(7, ['<b>ok</b>', 'password=hunter2'], redact);
    expect(text).toContain('<pre>&lt;b&gt;ok&lt;/b&gt;\npassword=[redacted]</pre>');
    const long = logsText(
      7,
      Array.from({ length: 400 }, (_, i) => `line ${i} ${'y'.repeat(40)}`),
      redact,
    );
    expect(plainLength(long)).toBeLessThan(TELEGRAM_TEXT_LIMIT);
    expect(long).toContain('line 399');
    expect(long).not.toContain('line 0 ');
    expect(logsText(7, undefined, redact)).toMatch(/No container runs/);
  });

  it('a URL’s password in a preview’s output (its own derived one, which no redactor knows) is removed', () => {
    const text = logsText(
      7,
      [
        'connecting to postgres://preview_pr_7:d3r1ved@db:5432/preview_pr_7',
        'redis://preview_pr_7:0ther@redis:6379 ok',
        'see https://example.com/a@b',
      ],
      (t) => t,
    );
    expect(text).toContain('postgres://preview_pr_7:[redacted]@db:5432/preview_pr_7');
    expect(text).toContain('redis://preview_pr_7:[redacted]@redis:6379 ok');
    expect(text).toContain('https://example.com/a@b');
    expect(text).not.toMatch(/d3r1ved|0ther/);
    const notice = renderPreviewFailed(
      { pr: 7, headSha: sha('a'), author: 'o', lastPushAt: now },
      'x',
      ['postgres://preview_pr_7:d3r1ved@db/x'],
      (t) => t,
    );
    expect(notice).not.toContain('d3r1ved');
  });

  it('a refusal shows the service’s own words, escaped', () => {
    expect(
      outcomeText('start', { kind: 'refused', pr: 7, text: 'the host has < 512 MiB free' }, '@ada'),
    ).toBe('⛔ #7: the host has &lt; 512 MiB free');
    expect(outcomeText('tearDown', { kind: 'queued', pr: 7 }, '@ada')).toMatch(
      /^🗑 Tear-down of the preview of #7 queued by @ada/,
    );
  });

  it('the failure notice: the pull request, the commit, the reason and its last lines, redacted', () => {
    const text = renderPreviewFailed(
      { pr: 7, headSha: sha('a'), author: 'octocat', lastPushAt: now },
      'health check failed.',
      ['starting', 'DATABASE_URL=postgres://u:s3cret@db/x', 'crash <here>'],
      (t) => t.replaceAll('s3cret', '[redacted]'),
    );
    expect(text).toMatch(
      /^❌ Preview of #7 \(<code>aaaaaaa<\/code>\) failed to start: health check failed\. /,
    );
    expect(text).toContain(
      '<pre>starting\nDATABASE_URL=postgres://u:[redacted]@db/x\ncrash &lt;here&gt;</pre>',
    );
    expect(text).not.toContain('s3cret');
  });
});

describe('/status previews line', () => {
  it('counts running and failed against the cap; unknown when the source fails', () => {
    expect(previewsLine({ ok: true, value: { running: 2, other: 1, failed: 1, max: 3 } })).toEqual([
      '<b>Previews</b>: 2 running, 1 failed (max 3)',
    ]);
    expect(previewsLine({ ok: true, value: { running: 0, other: 2, failed: 0, max: 3 } })).toEqual([
      '<b>Previews</b>: 0 running, 2 starting or stopped (max 3)',
    ]);
    expect(previewsLine({ ok: false, why: 'no answer within 1800 ms' })).toEqual([
      '<b>Previews</b> ❔ unknown — no answer within 1800 ms',
    ]);
    expect(previewsLine(undefined)).toEqual([]);
  });

  it('the compact /status carries it', () => {
    const text = renderStatus({
      at: now,
      environments: [],
      previews: { ok: true, value: { running: 2, other: 1, failed: 1, max: 3 } },
    });
    expect(text).toContain('<b>Previews</b>: 2 running, 1 failed (max 3)');
  });
});
