// /previews in Telegram HTML: a line pair per preview (its pull request, author, age, state
// and health, SHA, URL) and a row of buttons under each; the confirmations, the logs and the
// answers to what the service said. Everything that came from outside lugh (a reason, an
// author, a log line) is escaped here; the outgoing redactor removes secrets from all of it.
import { InlineKeyboard } from 'grammy';
import type { PreviewRequestOutcome, PreviewView } from '../../previews/preview.js';
import { withoutUrlPasswords } from '../../redact.js';
import { escapeHtml, formatAgo, shortSha } from '../html.js';
import { clip, fitLines, TEXT_BUDGET } from '../telegram-limits.js';
import { previewButton } from './buttons.js';

/** Previews per message: each brings a row of up to four buttons, and a phone screen holds five. */
export const PAGE_SIZE = 5;
const MAX_REASON = 200;
const MAX_LOG_CHARS = 3_300;

/** Where a pull request's page is: the view's own link, else github.com's when lugh talks to github.com. */
export type PullLink = (view: PreviewView) => string | undefined;

/** github.com's pull request pages, or none for another API server (the stand-in, an Enterprise host). */
export function pullLinkOf(github: { apiUrl?: string; repo?: { owner: string; name: string } }): PullLink {
  const dotCom = github.apiUrl === undefined || github.apiUrl === 'https://api.github.com';
  return (view) =>
    view.prUrl ??
    (dotCom && github.repo
      ? `https://github.com/${github.repo.owner}/${github.repo.name}/pull/${view.pr}`
      : undefined);
}

/** A fork's preview that was never started: it waits for an admin to start it from chat. */
export const forkWaiting = (v: PreviewView) => v.fork && v.state === 'stopped' && v.runningSha === undefined;

const HEALTH: Readonly<Record<PreviewView['health'], string>> = {
  healthy: '✅ running, healthy',
  starting: '⏳ running, health check starting',
  unhealthy: '⚠️ running, unhealthy',
  missing: '❌ running, but its container is gone',
};

const why = (reason: string | undefined) =>
  reason ? `: ${escapeHtml(clip(reason.replace(/\s+/g, ' '), MAX_REASON))}` : '';

/** The state and health of a preview, in words with a mark. */
export function stateText(v: PreviewView): string {
  const serving = v.runningSha ? ` (<code>${shortSha(v.runningSha)}</code> serves meanwhile)` : '';
  switch (v.state) {
    case 'running':
      return HEALTH[v.health];
    case 'queued':
      return `⏳ queued${serving}`;
    case 'building':
    case 'migrating':
    case 'starting':
      return `⏳ ${v.state}${serving}`;
    case 'failed':
      return `❌ failed to start${why(v.reason)}${v.runningSha ? ` (<code>${shortSha(v.runningSha)}</code> serves on)` : ''}`;
    case 'stopped':
      return forkWaiting(v)
        ? '✋ fork: waiting for an admin to start it (untrusted code, never built on its own)'
        : `⏸ stopped${why(v.reason)}`;
    case 'closed':
      return '🗑 closed';
  }
}

/** The two lines of one preview. */
export function previewLines(v: PreviewView, link: PullLink, now: Date): string[] {
  const href = link(v);
  const number = href ? `<a href="${escapeHtml(href)}">#${v.pr}</a>` : `#${v.pr}`;
  const sha =
    v.runningSha && v.runningSha !== v.headSha && v.state !== 'running'
      ? `<code>${shortSha(v.headSha)}</code>`
      : `<code>${shortSha(v.runningSha ?? v.headSha)}</code>`;
  const head = `<b>${number}</b> by ${escapeHtml(clip(v.author, 40))}${v.fork ? ' (fork)' : ''} · pushed ${formatAgo(v.lastPushAt, now)} · ${sha}`;
  const url = v.url && v.state !== 'stopped' ? ` · ${escapeHtml(v.url)}` : '';
  return [head, `  ${stateText(v)}${url}`];
}

/** Whether a URL may be a Telegram URL button: Telegram refuses localhost and bare IP addresses there. */
export function buttonUrl(url: string | undefined): url is string {
  if (!url) return false;
  try {
    const host = new URL(url).hostname;
    return !(
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      /^[\d.]+$/.test(host) ||
      host.includes(':')
    );
  } catch {
    return false;
  }
}

/** The buttons under one preview: Open, Redeploy, Logs, Tear down; a fork waiting gets Start instead. */
function previewRow(keyboard: InlineKeyboard, v: PreviewView, offerId: number): void {
  if (forkWaiting(v)) {
    keyboard.text(`▶️ Start #${v.pr} (fork: untrusted code)`, previewButton('fork', offerId, v.pr)).row();
    return;
  }
  if (v.state === 'running' && buttonUrl(v.url)) keyboard.url(`Open #${v.pr}`, v.url);
  if (v.state === 'stopped')
    keyboard.text(`Start #${v.pr}`, previewButton(v.fork ? 'fork' : 'start', offerId, v.pr));
  else keyboard.text('Redeploy', previewButton('redeploy', offerId, v.pr));
  keyboard.text('Logs', previewButton('logs', offerId, v.pr));
  keyboard.text('Tear down', previewButton('down', offerId, v.pr)).row();
}

/** What /previews says when there is none. */
export const NO_PREVIEWS =
  '🔍 No previews. One starts when a pull request into develop is opened (or pushed to); a fork’s waits here for an admin to start it.';

/**
 * /previews: the previews of one page (oldest first, as the service lists them), their
 * buttons for the offer's asker, and the page buttons when there are more.
 */
export function renderPreviewList(
  views: readonly PreviewView[],
  options: {
    offerId: number;
    page: number;
    link: PullLink;
    now: Date;
    asker: string;
    expiresIn: string;
    max?: number;
  },
): { text: string; keyboard?: InlineKeyboard } {
  if (views.length === 0) return { text: NO_PREVIEWS };
  const pages = Math.ceil(views.length / PAGE_SIZE);
  const page = Math.min(Math.max(0, options.page), pages - 1);
  const shown = views.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const running = views.filter((v) => v.state === 'running').length;
  const cap = options.max !== undefined ? ` (max ${options.max} running)` : '';
  const head = [
    `🔍 <b>Previews</b>: ${views.length}, ${running} running${cap}${pages > 1 ? ` · page ${page + 1} of ${pages}` : ''}`,
  ];
  const tail = [`The buttons are for ${escapeHtml(options.asker)} and expire in ${options.expiresIn}.`];
  const lines = shown.flatMap((v) => ['', ...previewLines(v, options.link, options.now)]);
  const text = fitLines(head, lines, ['', ...tail], TEXT_BUDGET);
  const keyboard = new InlineKeyboard();
  for (const v of shown) previewRow(keyboard, v, options.offerId);
  if (pages > 1) {
    if (page > 0) keyboard.text('‹ Earlier', previewButton('page', options.offerId, page - 1));
    if (page < pages - 1)
      keyboard.text(
        `Later › (${views.length - (page + 1) * PAGE_SIZE} more)`,
        previewButton('page', options.offerId, page + 1),
      );
  }
  return { text, keyboard };
}

/** The question before a tear-down. */
export function tearDownQuestion(pr: number, expiresIn: string): string {
  return `Tear down the preview of #${pr}? Its container, database and Redis keys are removed; its pull request stays open, and a new push (or Start) brings it back. The buttons expire in ${expiresIn}.`;
}

/** The question before a fork's preview runs: its code comes from outside the repository. */
export function forkStartQuestion(
  v: Pick<PreviewView, 'pr' | 'author' | 'headSha'>,
  expiresIn: string,
): string {
  return `Start the preview of #${v.pr} from a fork by ${escapeHtml(clip(v.author, 40))}? It builds and runs <code>${shortSha(v.headSha)}</code>, code nobody of this repository wrote: read its changes first. It runs isolated (its own network, database and Redis prefix, no secret of staging or production). The buttons expire in ${expiresIn}.`;
}

export function confirmKeyboard(yes: 'down-yes' | 'fork-yes', offerId: number, pr: number): InlineKeyboard {
  return new InlineKeyboard()
    .text(yes === 'down-yes' ? `Yes, tear down #${pr}` : `Yes, start #${pr}`, previewButton(yes, offerId, pr))
    .text('No', previewButton('no', offerId, pr));
}

const VERB = { start: 'Start', redeploy: 'Redeploy', tearDown: 'Tear-down' } as const;

/** What the chat hears of a request: queued (for whom), or the service's refusal as it says it. */
export function outcomeText(what: keyof typeof VERB, outcome: PreviewRequestOutcome, by: string): string {
  if (outcome.kind === 'refused') return `⛔ #${outcome.pr}: ${escapeHtml(outcome.text)}`;
  const after =
    what === 'tearDown'
      ? 'its container, database and Redis keys go; its pull request stays open.'
      : 'it is built and replaced health-gated; /previews shows how far it is, and the notify chat hears if it fails.';
  return `${what === 'tearDown' ? '🗑' : '🚀'} ${VERB[what]} of the preview of #${outcome.pr} queued by ${escapeHtml(by)}: ${after}`;
}

/** A preview's last lines, redacted and escaped, in a <pre> block under Telegram's limit (the newest kept). */
export function logsText(
  pr: number,
  lines: readonly string[] | undefined,
  redact: (text: string) => string,
): string {
  if (lines === undefined) return `No container runs for the preview of #${pr}: it has no logs.`;
  const text = withoutUrlPasswords(redact(lines.join('\n'))).trimEnd();
  if (!text.trim()) return `The preview of #${pr} printed nothing yet.`;
  const kept = text.length > MAX_LOG_CHARS ? `…${text.slice(text.length - MAX_LOG_CHARS + 1)}` : text;
  return `<b>Last ${lines.length} lines of the preview of #${pr}</b>\n<pre>${escapeHtml(kept)}</pre>`;
}

/** The answer to /previews when the flag is off on staging. */
export const PREVIEWS_OFF =
  'Previews are off on this bot: set PREVIEW_URL_TEMPLATE (e.g. https://pr-{n}.preview.example.com), or FEATURE_PREVIEWS=on, and restart staging. README: “Preview environments”.';

/** The production bot's answer: previews are staging's. */
export const PREVIEWS_ON_STAGING =
  'Previews run on the staging bot: send /previews there. Production never runs previews; nothing was changed.';
