import { Composer, InlineKeyboard } from 'grammy';
import type { DeployControl } from '../../deploys/deploy-control.js';
import type { BackupChoice } from '../../deploys/restore-control.js';
import type { BackupRecord } from '../../store/backup-records.js';
import type { IrreversibleMigration } from '../../store/deployment-migrations.js';
import { type Deployment, inProgress } from '../../store/deployments.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatAgo, formatDuration, shortSha } from '../html.js';
import { notModified } from '../telegram-errors.js';
import { offerRestore } from './restore.js';

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
 */
composer.command('rollback', requireAdmin('/rollback'), async (ctx) => {
  const [envWord] = argsOf(ctx);
  const target = await envArgument(ctx, 'rollback', envWord);
  if (!target) return;
  await offerRollback(ctx, target.control, target.env);
});

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

/** The picker of /rollback: the releases before the running one, for the admin who asked. */
async function offerRollback(ctx: BotContext, control: DeployControl, env: DeployControl['env']) {
  const releases = await control.deployments.releases(env, RELEASES_SHOWN + 1);
  const [current, ...older] = releases;
  if (!current || older.length === 0) {
    await ctx.reply(`There is no earlier release of ${env} to roll back to.`);
    return;
  }
  const offer = await control.deployments.createButtonOffer({
    kind: 'rollback',
    env,
    requestedBy: ctx.from!.id,
    requestedByName: actorName(ctx),
    chatId: ctx.chat?.id,
    ms: control.confirmMs,
  });
  const keyboard = new InlineKeyboard();
  let pastIrreversible = false;
  for (const r of older.slice(0, RELEASES_SHOWN)) {
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
  await ctx.reply(
    `Roll ${env} back to which release? It runs <code>${shortSha(current.sha)}</code> (deployed ${formatAgo(current.deployedAt)}). A tap asks to confirm first. The buttons are for ${escapeHtml(actorName(ctx) ?? 'the admin who asked')} and expire in ${formatDuration(control.confirmMs)}.${warning}`,
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

/**
 * The warning a rollback past irreversible migrations gets: which, applied by which deploy,
 * and the backup taken before the first of them (production's; /restore puts it back).
 */
export function irreversibleWarning(input: {
  env: string;
  sha: string;
  migrations: readonly IrreversibleMigration[];
  backup?: BackupRecord;
}): string {
  const list = input.migrations
    .map(
      (m) =>
        `• <code>${escapeHtml(m.name)}</code> (deploy #${m.deploymentId}${m.sha ? ` of <code>${shortSha(m.sha)}</code>` : ''}): ${escapeHtml(m.why)}`,
    )
    .join('\n');
  const first = input.migrations[0]?.deploymentId;
  const backup =
    input.env !== 'production'
      ? `${input.env} takes no backup before a deploy, so there is no copy of the database before it.`
      : input.backup
        ? `The database as it was before deploy #${first} is in the backup <code>${escapeHtml(input.backup.file)}</code>: after the rollback, /restore puts it back (it replaces production’s database; a backup of the current state is taken first).`
        : `Deploy #${first} recorded no backup, so there is no copy of the database before it.`;
  return [
    `⚠️ Rolling ${input.env} back to <code>${shortSha(input.sha)}</code> goes back past ${input.migrations.length === 1 ? 'a migration' : 'migrations'} that cannot be undone:`,
    list,
    'A rollback deploys the older code only: the database stays as these migrations left it, and that code may not fit it.',
    backup,
    'Roll back anyway?',
  ].join('\n\n');
}

const REFUSED = 'This release cannot be deployed again. Send /rollback for the current list.';

/** What a /restore button carries for a backup file: its name without the environment and `.dump`. */
const tokenOf = (env: string, file: string) => file.replace(`${env}-`, '').replace(/\.dump$/, '');

/**
 * The warning's keyboard, with a row that opens /restore's confirmation for the backup when
 * it is still on disk (restore buttons of their own: the asker's, expiring).
 */
async function withRestoreOffer(
  ctx: BotContext,
  keyboard: InlineKeyboard,
  backup: BackupChoice | undefined,
): Promise<InlineKeyboard> {
  if (!backup) return keyboard;
  const offer = await offerRestore(ctx);
  return keyboard.row().text('Restore that backup…', `restore:pick:${offer.id}:${backup.token}`);
}

const ignoreNotModified = (error: unknown) => {
  // A second tap on the same picker: the confirmation is showing already.
  if (!notModified(error)) throw error;
};

/**
 * The confirmation of rollback `d` to `release`: what will run, what runs now (read at the
 * tap, not when the picker was sent), the irreversible migrations it goes back past, and
 * when the buttons expire.
 */
async function confirmRollback(
  ctx: BotContext,
  control: DeployControl,
  d: Deployment,
  release: { id: number; sha: string; deployedAt: Date | null },
): Promise<void> {
  const env = control.env;
  const [current] = await control.deployments.releases(env, 1);
  const irreversible = await control.deployments.irreversibleSince(env, release.id);
  const backup = irreversible.length
    ? await control.deployments.backupOf(irreversible[0]!.deploymentId)
    : undefined;
  const now = current
    ? `It runs <code>${shortSha(current.sha)}</code> now (deployed ${formatAgo(current.deployedAt)}).`
    : 'No release of it is recorded as running now.';
  const text = [
    `Roll ${env} back to <code>${shortSha(release.sha)}</code>${release.deployedAt ? ` (deployed ${formatAgo(release.deployedAt)})` : ''}? ${now} Deploy #${d.id} deploys <code>${shortSha(release.sha)}</code> again through every step.`,
    ...(irreversible.length
      ? [irreversibleWarning({ env, sha: release.sha, migrations: irreversible, backup })]
      : []),
    `The buttons expire in ${formatDuration(Math.max(0, (d.confirmExpiresAt?.getTime() ?? Date.now()) - Date.now()))}.`,
  ].join('\n\n');
  const keyboard = new InlineKeyboard()
    .text(irreversible.length ? 'Roll back anyway' : 'Roll back', `rollback:yes:${d.id}`)
    .text('Cancel', `rollback:no:${d.id}`);
  await ctx
    .editMessageText(text, {
      reply_markup: await withRestoreOffer(
        ctx,
        keyboard,
        ctx.deps.restore && backup ? await ctx.deps.restore.find(tokenOf(env, backup.file)) : undefined,
      ),
    })
    .catch(ignoreNotModified);
}

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
  if (deployment.sha !== source.sha) {
    await ctx.answerCallbackQuery({
      text: `This picker chose ${shortSha(deployment.sha)} already: confirm or cancel that, or send /rollback again.`,
      show_alert: true,
    });
    return;
  }
  await ctx.answerCallbackQuery({ text: 'Confirm below' });
  await confirmRollback(ctx, control, deployment, release);
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
  await ctx
    .editMessageText(
      `↩️ Rolling ${control.env} back to <code>${escapeHtml(shortSha(d.sha))}</code>: deploy #${id} is queued; progress follows here.${past}`,
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
    { command: 'rollback', description: 'Deploy an earlier release again: /rollback <env>', access: 'admin' },
  ],
  composer,
};
