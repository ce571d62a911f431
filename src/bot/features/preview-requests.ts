// /previews' requests of the preview service, and what they share: the offer the buttons
// are, the listing, the audit of each request and its answer in the chat (features/previews.ts
// is the command and its buttons).
import type { InlineKeyboard } from 'grammy';
import { withDeadline } from '../../deadline.js';
import type {
  PreviewActor,
  PreviewHead,
  PreviewRequestOutcome,
  PreviewView,
} from '../../previews/preview.js';
import type { ButtonOffer } from '../../store/button-offers.js';
import type { BotContext, BotDeps } from '../context.js';
import { actorName } from '../guards/is-admin.js';
import { formatDuration } from '../html.js';
import {
  confirmKeyboard,
  forkStartQuestion,
  PREVIEWS_OFF,
  PREVIEWS_ON_STAGING,
  pullLinkOf,
  renderPreviewList,
} from '../previews/render.js';
import { notModified } from '../telegram-errors.js';

/** An alert's text is at most 200 characters; the staging marker takes 10 of them. */
export const ALERT_CHARS = 185;
export const alertText = (text: string) =>
  text.length <= ALERT_CHARS ? text : `${text.slice(0, ALERT_CHARS - 1)}…`;

/** How long /previews' buttons (and a confirmation's) hold. */
export const PREVIEW_OFFER_MS = 5 * 60_000;
/** How long a tap waits for the service: its answer must reach Telegram within ~10 s. */
export const SERVICE_MS = 6_000;
/** A typed command may wait longer (no callback to answer). */
export const LIST_MS = 15_000;
export const LOG_LINES = 50;

export const ignoreNotModified = (error: unknown) => {
  if (!notModified(error)) throw error;
};

export const actorOf = (ctx: BotContext): PreviewActor => ({
  userId: ctx.from!.id,
  name: actorName(ctx) ?? String(ctx.from!.id),
});

/** Why this bot cannot run previews now; undefined when it can. */
export function unavailable(deps: BotDeps): string | undefined {
  if (!deps.config.isStaging) return PREVIEWS_ON_STAGING;
  if (!deps.config.flags.previews) return PREVIEWS_OFF;
  if (!deps.previews || !deps.offers)
    return 'Previews are on, but this instance runs no preview service (it has no Docker engine or failed to build it: see its log). Nothing was changed.';
  return undefined;
}

export type Ready = BotContext & { deps: BotDeps & Required<Pick<BotDeps, 'previews' | 'offers'>> };

/** `headSha`: a fork's confirmation's, the commit it shows (its Yes approves only that one). */
export async function newOffer(ctx: Ready, headSha?: string): Promise<ButtonOffer> {
  return ctx.deps.offers.createButtonOffer({
    headSha,
    kind: 'preview',
    env: ctx.deps.config.appEnv,
    requestedBy: ctx.from!.id,
    requestedByName: actorName(ctx),
    chatId: ctx.chat?.id,
    ms: PREVIEW_OFFER_MS,
  });
}

export const expiresIn = (offer: ButtonOffer) =>
  formatDuration(Math.max(0, offer.expiresAt.getTime() - Date.now()));

/** The list as one message: a page of previews and their buttons. */
export async function listing(
  ctx: Ready,
  offer: ButtonOffer,
  page: number,
): Promise<{ text: string; keyboard?: InlineKeyboard }> {
  const { previews, config } = ctx.deps;
  const [views, counts] = await Promise.all([
    withDeadline(previews.list(), LIST_MS, 'the preview service did not list the previews'),
    withDeadline(previews.counts(), LIST_MS).catch(() => undefined),
  ]);
  return renderPreviewList(views, {
    offerId: offer.id,
    page,
    link: pullLinkOf(config.github),
    now: new Date(),
    asker: offer.requestedByName ?? 'the admin who asked',
    expiresIn: expiresIn(offer),
    max: counts?.max,
  });
}

export async function record(
  ctx: BotContext,
  action: string,
  pr: number,
  outcome: PreviewRequestOutcome | Error,
) {
  await ctx.deps.audit.record({
    actorId: ctx.from?.id,
    actorName: actorName(ctx),
    action,
    outcome: outcome instanceof Error ? 'failed' : outcome.kind === 'queued' ? 'ok' : 'refused',
    details: {
      pr,
      ...(outcome instanceof Error
        ? { error: ctx.deps.redact(outcome.message) }
        : outcome.kind === 'refused'
          ? { reason: outcome.text }
          : {}),
    },
  });
}

export const SERVICE_CALL = { start: 'start', redeploy: 'redeploy', tearDown: 'tearDown' } as const;
export const AUDIT_ACTION = {
  start: '/previews start',
  redeploy: '/previews redeploy',
  tearDown: '/previews tear down',
} as const;

/** Asks the service; the outcome is audited, and said in the chat for everyone there. */
export async function request(
  ctx: Ready,
  what: keyof typeof SERVICE_CALL,
  pr: number,
  expectedSha?: string,
): Promise<PreviewRequestOutcome> {
  const service = ctx.deps.previews;
  let outcome: PreviewRequestOutcome;
  try {
    outcome = await withDeadline(
      what === 'start'
        ? service.start(pr, actorOf(ctx), expectedSha)
        : service[SERVICE_CALL[what]](pr, actorOf(ctx)),
      SERVICE_MS,
      'the preview service did not answer',
    );
  } catch (error) {
    await record(ctx, AUDIT_ACTION[what], pr, error as Error);
    throw error;
  }
  // Asking to confirm did nothing yet: the answer to the question is what is audited.
  if (outcome.kind !== 'confirm') await record(ctx, AUDIT_ACTION[what], pr, outcome);
  return outcome;
}

/** Asks the admin to confirm a fork's head, as the service said it; the offer keeps the commit shown. */
export async function askForkStart(ctx: Ready, pr: number, head: PreviewHead): Promise<void> {
  const offer = await newOffer(ctx, head.headSha);
  await ctx.reply(forkStartQuestion({ pr, author: head.author, headSha: head.headSha }, expiresIn(offer)), {
    reply_markup: confirmKeyboard('fork-yes', offer.id, pr),
  });
}

/** The preview of `pr` as the service lists it now; undefined when there is none (closed, or never made). */
export async function find(ctx: Ready, pr: number, ms: number): Promise<PreviewView | undefined> {
  const views = await withDeadline(
    ctx.deps.previews.list(),
    ms,
    'the preview service did not list the previews',
  );
  return views.find((v) => v.pr === pr);
}

export const gone = (pr: number) =>
  `There is no preview of #${pr} any more (its pull request closed, or it was never made). Send /previews for the current list.`;

export const USAGE =
  'Send <code>/previews</code> for the list, <code>/previews start &lt;n&gt;</code> to start the preview of pull request n (a fork’s asks to confirm), or <code>/previews logs &lt;n&gt;</code> for its last lines.';

export const prNumber = (word: string | undefined) =>
  word && /^#?\d{1,9}$/.test(word) ? Number(word.replace('#', '')) : undefined;
