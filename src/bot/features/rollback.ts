import { Composer, InlineKeyboard } from 'grammy';
import type { DeployControl } from '../../deploys/deploy-control.js';
import { type Deployment, inProgress } from '../../store/deployments.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { parseEnv } from '../deploys/parse-words.js';
import { lockedMessage } from '../deploys/render.js';
import { oneServiceRefusal } from '../deploys/rollback-texts.js';
import { runsSet, setText } from '../deploys/set-members.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatAgo, formatDuration, shortSha } from '../html.js';
import { confirmRollback, ignoreNotModified, membersOf } from './rollback-confirmation.js';

const RELEASES_SHOWN = 5;
const composer = new Composer<BotContext>();

/**
 * /rollback <env>: the last releases that ran (newest first, the running one marked), one
 * tap each. The picker is an offer in Postgres (button_offers): its buttons carry the
 * offer's id and a release's, answer only the admin who asked, and expire as /deploy's
 * confirmation does. A tap asks to confirm, naming the release and what runs now (and the
 * irreversible migrations it goes back past); Yes deploys that commit again through every
 * step, once, whoever taps how often (the confirmation is the deployment's row, answered
 * once). Its image is usually still there (cleanup keeps the last ones), so it is not rebuilt.
 *
 * /rollback [env] <service> alone: the same picker for one service of a set, offering the
 * releases whose set had it; the confirmation warns what may break (`aloneWarning`), and
 * Yes deploys that service alone at the release's commit. `/rollback <service>` without
 * `alone` is refused, pointing at the explicit form.
 */
composer.command('rollback', requireAdmin('/rollback'), async (ctx) => {
  const words = argsOf(ctx);
  const alone = words.at(-1)?.toLowerCase() === ALONE;
  const rest = alone ? words.slice(0, -1) : words;
  if (alone && rest.length === 0) {
    const env = ctx.deps.deploys?.env ?? 'staging';
    await ctx.reply(`Name the service: <code>/rollback ${env} &lt;service&gt; alone</code>.`);
    return;
  }
  const [first] = rest;
  // `/rollback worker`: a service of this bot's own set, named without the environment.
  const members = await membersOf(ctx.deps.deploys);
  const serviceFirst =
    first !== undefined && !parseEnv(first) && (alone || members.some((m) => m.service === first));
  const target = await envArgument(ctx, 'rollback', serviceFirst ? undefined : first, {
    optional: serviceFirst,
  });
  if (!target) return;
  const service = serviceFirst ? first : rest[1];
  if (service === undefined) {
    if (alone)
      await ctx.reply(`Name the service: <code>/rollback ${target.env} &lt;service&gt; alone</code>.`);
    else await offerRollback(ctx, target.control, target.env);
    return;
  }
  const refusal = oneServiceRefusal(target.env, service, members, alone);
  if (refusal) {
    await ctx.reply(refusal);
    return;
  }
  await offerRollback(ctx, target.control, target.env, service);
});

/** The word that asks for one service of a set alone: `/rollback worker alone`. */
const ALONE = 'alone';

/**
 * Roll back under a failed deploy's result (a failure after verify: the new version runs):
 * the same picker as /rollback for this bot's own environment, answered at once.
 */
composer.callbackQuery('rollback:offer', requireAdmin('rollback button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control) {
    await ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
    return;
  }
  await ctx.answerCallbackQuery();
  await offerRollback(ctx, control, control.env);
});

/** How many releases the picker of one service looks through for those whose set had it. */
const RELEASES_SEARCHED = 20;

/** Whether a release's recorded set (`deployments.services`) declared `service`. */
async function releaseHad(control: DeployControl, releaseId: number, service: string): Promise<boolean> {
  const recorded = (await control.deployments.servicesOf(releaseId)) as
    | { declared?: boolean; services?: Array<{ name?: unknown }> }
    | null
    | undefined;
  return (
    recorded?.declared === true &&
    Array.isArray(recorded.services) &&
    recorded.services.some((s) => s.name === service)
  );
}

/**
 * The picker of /rollback: the releases before the running one, for the admin who asked;
 * with `service`, those whose set had that service, to roll it back alone.
 */
async function offerRollback(
  ctx: BotContext,
  control: DeployControl,
  env: DeployControl['env'],
  service?: string,
) {
  const releases = await control.deployments.releases(
    env,
    (service ? RELEASES_SEARCHED : RELEASES_SHOWN) + 1,
  );
  const [current, ...before] = releases;
  const older: typeof before = [];
  for (const r of before) {
    if (older.length === RELEASES_SHOWN) break;
    if (!service || (await releaseHad(control, r.id, service))) older.push(r);
  }
  if (!current || older.length === 0) {
    await ctx.reply(
      service
        ? `No earlier release of ${env} had the service ${escapeHtml(service)} (in its lugh.yml): there is nothing to take it back to.`
        : `There is no earlier release of ${env} to roll back to.`,
    );
    return;
  }
  const offer = await control.deployments.createButtonOffer({
    kind: 'rollback',
    env,
    requestedBy: ctx.from!.id,
    requestedByName: actorName(ctx),
    chatId: ctx.chat?.id,
    ms: control.confirmMs,
    service,
  });
  const keyboard = new InlineKeyboard();
  let pastIrreversible = false;
  for (const r of older) {
    // Older releases are past at least what newer ones are: one query per release, five at most.
    const past = (await control.deployments.irreversibleSince(env, r.id)).length > 0;
    pastIrreversible ||= past;
    keyboard
      .text(
        `${past ? '⚠️ ' : ''}${shortSha(r.sha)} · ${formatAgo(r.deployedAt)}`,
        `rollback:${offer.id}:${r.id}`,
      )
      .row();
  }
  const warning = pastIrreversible
    ? ' ⚠️ marks a release older than a migration that cannot be undone: its confirmation names them.'
    : '';
  const members = await membersOf(control);
  const buttons = `The buttons are for ${escapeHtml(actorName(ctx) ?? 'the admin who asked')} and expire in ${formatDuration(control.confirmMs)}.`;
  if (service) {
    const others = setText(members.filter((m) => m.service !== service));
    await ctx.reply(
      `Roll ${escapeHtml(service)} <b>alone</b> back to which release of ${env}? The set runs <code>${shortSha(current.sha)}</code> (deployed ${formatAgo(current.deployedAt)}). Only ${escapeHtml(service)} goes back${others ? `; ${others} stay as they run` : ''}. A tap says what may break and asks to confirm first. ${buttons}${warning}`,
      { reply_markup: keyboard },
    );
    return;
  }
  const set = runsSet(members)
    ? ` A rollback takes the whole set back to that release: ${setText(members)}.`
    : '';
  await ctx.reply(
    `Roll ${env} back to which release? It runs <code>${shortSha(current.sha)}</code> (deployed ${formatAgo(current.deployedAt)}).${set} A tap asks to confirm first. ${buttons}${warning}`,
    { reply_markup: keyboard },
  );
}

/** The answer to a tap whose picker already made a deploy that is no longer waiting. */
function alreadyText(d: Deployment): string {
  const release = shortSha(d.sha);
  return inProgress(d.status)
    ? `Deploy #${d.id} is already under way for this release (${release}); nothing new was queued.`
    : `These buttons were used already: deploy #${d.id} to ${release} ended ${d.status.replace('_', ' ')}. Send /rollback again for a new choice.`;
}

const REFUSED = 'This release cannot be deployed again. Send /rollback for the current list.';

/**
 * A tap on a release of a picker (`rollback:<offer>:<release>`): only its asker's, only
 * before it expires; it creates the picker's one rollback, waiting for confirmation.
 */
composer.callbackQuery(/^rollback:(\d{1,12}):(\d{1,12})$/, requireAdmin('rollback button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  const offer = await control.deployments.buttonOffer(Number(ctx.match[1]), 'rollback');
  if (!offer || offer.env !== control.env) {
    await ctx.answerCallbackQuery({ text: REFUSED, show_alert: true });
    return;
  }
  if (offer.requestedBy !== ctx.from.id) {
    await ctx.deps.audit.record({
      actorId: ctx.from.id,
      actorName: actorName(ctx),
      action: '/rollback',
      outcome: 'refused',
      details: { env: control.env, reason: 'not the asker’s picker', offerId: offer.id },
    });
    await ctx.answerCallbackQuery({
      text: `Only ${offer.requestedByName ?? 'the admin who asked'} can use these buttons. Send /rollback for your own.`,
      show_alert: true,
    });
    return;
  }
  if (offer.expired) {
    await ctx.answerCallbackQuery({
      text: 'This choice expired; nothing was deployed. Send /rollback again.',
      show_alert: true,
    });
    await ctx
      .editMessageText('⌛ This choice expired; nothing was deployed. Send /rollback again for a new one.')
      .catch(ignoreNotModified);
    return;
  }
  const source = await control.deployments.get(Number(ctx.match[2]));
  if (!source || source.env !== control.env || source.status !== 'succeeded' || !source.sha) {
    await ctx.answerCallbackQuery({ text: REFUSED, show_alert: true });
    return;
  }
  const service = offer.service ?? undefined;
  if (service && !(await releaseHad(control, source.id, service))) {
    await ctx.answerCallbackQuery({
      text: `That release had no service ${service}: it cannot be taken back alone to it. Send /rollback again.`,
      show_alert: true,
    });
    return;
  }
  const release = { id: source.id, sha: source.sha, deployedAt: source.finishedAt };
  const requested = await control.request({
    ref: source.sha,
    sha: source.sha,
    trigger: 'rollback',
    requester: { id: ctx.from.id, name: actorName(ctx) },
    chatId: ctx.chat?.id,
    action: '/rollback',
    key: `rollback-offer:${offer.id}`,
    confirm: true,
    only: service,
  });
  if (requested.outcome === 'locked') {
    // The refusal is longer than an alert may be, and names the lock in HTML: a reply.
    await ctx.answerCallbackQuery({ text: `${control.env} is locked; nothing was queued` });
    await ctx.reply(lockedMessage(control.env, requested.lock));
    return;
  }
  // A rollback names its commit by full SHA: nothing is resolved on the forge.
  if (requested.outcome === 'unknown_commit' || requested.outcome === 'forge_failed')
    throw new Error(`release ${source.sha} was not resolved`);
  const { deployment } = requested;
  if (requested.outcome === 'already' && deployment.status !== 'awaiting_confirmation') {
    await ctx.answerCallbackQuery({ text: alreadyText(deployment), show_alert: true });
    return;
  }
  // A rollback to this release already under way (of the whole set, or of one service).
  if ((deployment.onlyService ?? undefined) !== service) {
    await ctx.answerCallbackQuery({ text: alreadyText(deployment), show_alert: true });
    return;
  }
  if (deployment.sha !== source.sha) {
    await ctx.answerCallbackQuery({
      text: `This picker chose ${shortSha(deployment.sha)} already: confirm or cancel that, or send /rollback again.`,
      show_alert: true,
    });
    return;
  }
  await ctx.answerCallbackQuery({ text: 'Confirm below' });
  await confirmRollback(ctx, control, deployment, release, service);
});

/** Roll back (`rollback:yes:<deployment>`) or Cancel: the requester's, once, before it expires. */
composer.callbackQuery(/^rollback:(yes|no):(\d{1,12})$/, requireAdmin('rollback button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  const id = Number(ctx.match[2]);
  const answer = ctx.match[1] === 'yes' ? 'confirm' : 'decline';
  const d = await control.deployments.get(id);
  if (d?.trigger !== 'rollback' || d.env !== control.env) {
    await ctx.answerCallbackQuery({ text: REFUSED, show_alert: true });
    return;
  }
  const result = await control.deployments.answerConfirmation(id, ctx.from.id, answer);
  await ctx.deps.audit.record({
    actorId: ctx.from.id,
    actorName: actorName(ctx),
    action: `rollback ${answer}`,
    outcome: result === 'ok' ? 'ok' : 'refused',
    details: { deploymentId: id, sha: d.sha, result },
  });
  if (result === 'answered') {
    const now = await control.deployments.get(id);
    await ctx.answerCallbackQuery({
      text:
        now?.status === 'cancelled'
          ? 'This rollback was cancelled. Send /rollback again.'
          : alreadyText(now ?? d),
      show_alert: true,
    });
    return;
  }
  if (result !== 'ok') {
    const refusal: Record<string, string> = {
      not_yours: 'Only the admin who asked for this rollback can answer it.',
      expired: 'This confirmation expired; nothing was deployed. Send /rollback again.',
      missing: REFUSED,
      busy: 'A rollback to this release is already under way; nothing new was queued.',
    };
    await ctx.answerCallbackQuery({ text: refusal[result], show_alert: true });
    if (result === 'expired' || result === 'busy')
      await ctx.editMessageText(`⌛ ${refusal[result]}`).catch(ignoreNotModified);
    return;
  }
  if (answer === 'decline') {
    await ctx.answerCallbackQuery({ text: 'Cancelled' });
    await ctx
      .editMessageText('🚫 Rollback cancelled; nothing was deployed. Send /rollback again for a new choice.')
      .catch(ignoreNotModified);
    return;
  }
  await ctx.answerCallbackQuery({ text: 'Rolling back' });
  await control.enqueue(id);
  const release = (await control.deployments.releases(control.env, 50)).find((r) => r.sha === d.sha);
  const irreversible = release ? await control.deployments.irreversibleSince(control.env, release.id) : [];
  const past = irreversible.length
    ? ` It goes back past ${irreversible.map((m) => `<code>${escapeHtml(m.name)}</code>`).join(', ')}; the database stays as it is.`
    : '';
  const what = d.onlyService ? `${escapeHtml(d.onlyService)} of ${control.env} alone` : control.env;
  const others = d.onlyService ? ' The other services stay as they run.' : '';
  await ctx
    .editMessageText(
      `↩️ Rolling ${what} back to <code>${escapeHtml(shortSha(d.sha))}</code>: deploy #${id} is queued; progress follows here.${others}${past}`,
    )
    .catch(ignoreNotModified);
});

/** Buttons of a picker sent before pickers were offers: they carry no asker or expiry. */
composer.callbackQuery(/^rollback:(sure:)?\d{1,12}$|^rollback:cancel$/, async (ctx) => {
  await ctx.answerCallbackQuery({
    text: 'These buttons are from an older picker and no longer work; nothing was deployed. Send /rollback again.',
    show_alert: true,
  });
});

export const rollbackFeature: Feature = {
  commands: [
    {
      command: 'rollback',
      description: 'Deploy an earlier release again (a set as a whole): /rollback <env> [<service> alone]',
      access: 'admin',
    },
  ],
  composer,
};
