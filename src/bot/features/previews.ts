import { Composer } from 'grammy';
import { withDeadline } from '../../deadline.js';
import type { ButtonOffer } from '../../store/button-offers.js';
import type { BotContext, BotDeps, Feature } from '../context.js';
import { argsOf } from '../deploys/env-argument.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';
import { PREVIEW_BUTTON, type PreviewAction, readPreviewButton } from '../previews/buttons.js';
import {
  confirmKeyboard,
  forkStartQuestion,
  logsText,
  outcomeText,
  tearDownQuestion,
} from '../previews/render.js';
import {
  ALERT_CHARS,
  actorOf,
  alertText,
  askForkStart,
  expiresIn,
  find,
  gone,
  ignoreNotModified,
  LIST_MS,
  LOG_LINES,
  listing,
  newOffer,
  prNumber,
  type Ready,
  request,
  type SERVICE_CALL,
  SERVICE_MS,
  USAGE,
  unavailable,
} from './preview-requests.js';

const composer = new Composer<BotContext>();

/**
 * /previews: every preview not closed (its pull request, author, age, state and health,
 * SHA, URL) with buttons under each: Open, Redeploy, Logs, Tear down (which asks to
 * confirm); a fork's waits for Start, which asks to confirm too. The buttons are an offer
 * in Postgres (button_offers): only the asker's taps count, and none after it expired.
 * `/previews start <n>` and `/previews logs <n>` are the typed forms.
 */
composer.command('previews', requireAdmin('/previews'), async (ctx) => {
  const why = unavailable(ctx.deps);
  if (why) {
    await ctx.reply(why);
    return;
  }
  try {
    await previewsCommand(ctx as Ready, argsOf(ctx));
  } catch (error) {
    ctx.deps.logger.warn({ err: error }, '/previews failed');
    await ctx.reply(
      `The preview service could not answer: ${escapeHtml(ctx.deps.redact((error as Error).message))}. Nothing was changed; try again in a moment.`,
    );
  }
});

async function previewsCommand(ready: Ready, [verb, numberWord, ...extra]: string[]): Promise<void> {
  const ctx = ready;
  if (verb === undefined) {
    const offer = await newOffer(ready);
    const { text, keyboard } = await listing(ready, offer, 0);
    await ctx.reply(text, { reply_markup: keyboard, link_preview_options: { is_disabled: true } });
    return;
  }
  const pr = prNumber(numberWord);
  if ((verb !== 'start' && verb !== 'logs') || pr === undefined || extra.length > 0) {
    await ctx.reply(USAGE);
    return;
  }
  if (verb === 'logs') {
    await ctx.reply(
      logsText(pr, await withDeadline(ready.deps.previews.logs(pr, LOG_LINES), LIST_MS), ctx.deps.redact),
    );
    return;
  }
  // Whether it is a fork's is GitHub's word (the service asks it), not the table's.
  const outcome = await request(ready, 'start', pr);
  if (outcome.kind === 'confirm') await askForkStart(ready, pr, outcome.head);
  else await ctx.reply(outcomeText('start', outcome, actorOf(ctx).name));
}

/** Answers a tap whose request the service refused (an alert), or queued (a word, and a line in the chat). */
async function answerRequest(
  ctx: Ready,
  what: keyof typeof SERVICE_CALL,
  pr: number,
  confirmation: boolean,
  expectedSha?: string,
) {
  const outcome = await request(ctx, what, pr, expectedSha);
  if (outcome.kind === 'confirm') {
    await ctx.answerCallbackQuery({ text: 'A fork’s head: confirm below' });
    await askForkStart(ctx, pr, outcome.head);
    return;
  }
  const text = outcomeText(what, outcome, actorOf(ctx).name);
  if (outcome.kind === 'refused') {
    const said = `#${pr}: ${outcome.text}`;
    await ctx.answerCallbackQuery({ text: alertText(said), show_alert: true });
    if (confirmation) await ctx.editMessageText(text).catch(ignoreNotModified);
    // Too long for an alert: the whole refusal in the chat too.
    else if (said.length > ALERT_CHARS) await ctx.reply(text);
    return;
  }
  await ctx.answerCallbackQuery({ text: 'Queued' });
  if (confirmation) await ctx.editMessageText(text).catch(ignoreNotModified);
  else await ctx.reply(text);
}

/** A tap on a button of /previews or of its confirmations: the asker's, before it expires, on a preview that still exists. */
composer.callbackQuery(PREVIEW_BUTTON, requireAdmin('previews button'), async (ctx) => {
  const why = unavailable(ctx.deps);
  const button = readPreviewButton(ctx.callbackQuery.data);
  if (why || !button) {
    await ctx.answerCallbackQuery({
      text: why ?? 'This button is not one lugh knows. Send /previews again.',
      show_alert: true,
    });
    return;
  }
  const ready = ctx as Ready;
  const { action, pr } = button;
  const offer = await ready.deps.offers.buttonOffer(button.offerId, 'preview');
  if (!offer || offer.env !== ctx.deps.config.appEnv) {
    await ctx.answerCallbackQuery({
      text: 'These buttons are not from a /previews of this bot. Send /previews again.',
      show_alert: true,
    });
    return;
  }
  if (offer.requestedBy !== ctx.from.id) {
    await ctx.deps.audit.record({
      actorId: ctx.from.id,
      actorName: actorName(ctx),
      action: 'previews button',
      outcome: 'refused',
      details: { reason: 'not the asker’s buttons', offerId: offer.id, pr },
    });
    await ctx.answerCallbackQuery({
      text: `Only ${offer.requestedByName ?? 'the admin who asked'} can use these buttons. Send /previews for your own.`,
      show_alert: true,
    });
    return;
  }
  if (offer.expired) {
    await ctx.answerCallbackQuery({
      text: 'These buttons expired; nothing was done. Send /previews again.',
      show_alert: true,
    });
    if (isConfirmation(action))
      await ctx
        .editMessageText('⌛ This question expired; nothing was done. Send /previews again.')
        .catch(ignoreNotModified);
    return;
  }
  try {
    await act(ready, action, pr, offer);
  } catch (error) {
    // The service did not answer in time or failed: say so rather than leave the tap spinning.
    ctx.deps.logger.warn({ err: error, pr, action }, 'a /previews button failed');
    const text = `Nothing was done to #${pr}: ${ctx.deps.redact((error as Error).message)}. Try again in a moment.`;
    await ctx
      .answerCallbackQuery({ text: alertText(text), show_alert: true })
      .catch(() => ctx.reply(escapeHtml(text)));
  }
});

const isConfirmation = (action: PreviewAction) =>
  action === 'down-yes' || action === 'fork-yes' || action === 'no';

async function act(ctx: Ready, action: PreviewAction, pr: number, tapped: ButtonOffer): Promise<void> {
  const offerId = tapped.id;
  if (action === 'page') {
    await ctx.answerCallbackQuery();
    const offer = await newOffer(ctx);
    const { text, keyboard } = await listing(ctx, offer, pr);
    await ctx
      .editMessageText(text, { reply_markup: keyboard, link_preview_options: { is_disabled: true } })
      .catch(ignoreNotModified);
    return;
  }
  if (action === 'no') {
    if (!(await ctx.deps.offers.useButtonOffer(offerId))) {
      await ctx.answerCallbackQuery({
        text: 'This was answered already; nothing new was done.',
        show_alert: true,
      });
      return;
    }
    await ctx.answerCallbackQuery({ text: 'Nothing done' });
    await ctx.editMessageText(`🚫 Nothing was done to the preview of #${pr}.`).catch(ignoreNotModified);
    return;
  }
  if (action === 'logs') {
    await ctx.answerCallbackQuery();
    await ctx.reply(
      logsText(pr, await withDeadline(ctx.deps.previews.logs(pr, LOG_LINES), LIST_MS), ctx.deps.redact),
    );
    return;
  }
  if (action === 'fork-yes') {
    // Needs no row (`/previews start <n>` asks before there is one); approves the commit shown.
    if (!(await ctx.deps.offers.useButtonOffer(offerId))) {
      await ctx.answerCallbackQuery({
        text: 'This was answered already; nothing new was done.',
        show_alert: true,
      });
      return;
    }
    if (!tapped.headSha) {
      await ctx.answerCallbackQuery({
        text: 'This question names no commit; nothing was started. Send /previews again.',
        show_alert: true,
      });
      return;
    }
    await answerRequest(ctx, 'start', pr, true, tapped.headSha);
    return;
  }
  const view = await find(ctx, pr, SERVICE_MS);
  if (!view) {
    await ctx.answerCallbackQuery({ text: gone(pr), show_alert: true });
    return;
  }
  switch (action) {
    case 'down':
    case 'fork': {
      // A fork's question keeps the commit it shows: its Yes approves only that one.
      const offer = await newOffer(ctx, action === 'fork' ? view.headSha : undefined);
      await ctx.answerCallbackQuery({ text: 'Confirm below' });
      await ctx.reply(
        action === 'down'
          ? tearDownQuestion(pr, expiresIn(offer))
          : forkStartQuestion(view, expiresIn(offer)),
        {
          reply_markup: confirmKeyboard(action === 'down' ? 'down-yes' : 'fork-yes', offer.id, pr),
        },
      );
      return;
    }
    case 'start':
      // A fork's preview is started only through its confirmation (and the service asks
      // GitHub: a row that says otherwise gets the question too).
      if (view.fork) {
        await ctx.answerCallbackQuery({
          text: 'A fork’s preview asks to confirm first: send /previews again.',
          show_alert: true,
        });
        return;
      }
      await answerRequest(ctx, 'start', pr, false);
      return;
    case 'redeploy':
      await answerRequest(ctx, 'redeploy', pr, false);
      return;
    case 'down-yes':
      // A confirmation is answered once, however often (and from wherever) its Yes is tapped.
      if (!(await ctx.deps.offers.useButtonOffer(offerId))) {
        await ctx.answerCallbackQuery({
          text: 'This was answered already; nothing new was done.',
          show_alert: true,
        });
        return;
      }
      await answerRequest(ctx, 'tearDown', pr, true);
      return;
  }
}

/** /previews, listed only where it works: on staging with the flag on (production's bot answers where to send it). */
export function previewsFeature(deps: Pick<BotDeps, 'config'>): Feature {
  return {
    commands: deps.config.flags.previews
      ? [
          {
            command: 'previews',
            description: 'Preview environments of pull requests: /previews [start|logs <n>]',
            access: 'admin',
            only: 'staging',
          },
        ]
      : [],
    composer,
  };
}
