import { Composer, InlineKeyboard } from 'grammy';
import type { BackupChoice } from '../../deploys/restore-control.js';
import type { BackupRecord } from '../../store/backup-records.js';
import type { IrreversibleMigration } from '../../store/deployment-migrations.js';
import { type Deployment, inProgress } from '../../store/deployments.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatAgo, shortSha } from '../html.js';
import { notModified } from '../telegram-errors.js';

const RELEASES_SHOWN = 5;
const composer = new Composer<BotContext>();

/**
 * /rollback <env>: the last releases that ran (newest first, the running one marked), one
 * tap each. The tap deploys that commit again through every step; its image is usually
 * still there (cleanup keeps the last ones), so it is not rebuilt. A release older than a
 * migration that cannot be undone is marked, and its tap asks first (irreversibleWarning).
 */
composer.command('rollback', requireAdmin('/rollback'), async (ctx) => {
  const [envWord] = argsOf(ctx);
  const target = await envArgument(ctx, 'rollback', envWord);
  if (!target) return;
  const { control, env } = target;
  const releases = await control.deployments.releases(env, RELEASES_SHOWN + 1);
  const [current, ...older] = releases;
  if (!current || older.length === 0) {
    await ctx.reply(`There is no earlier release of ${env} to roll back to.`);
    return;
  }
  const keyboard = new InlineKeyboard();
  let pastIrreversible = false;
  for (const r of older.slice(0, RELEASES_SHOWN)) {
    // Older releases are past at least what newer ones are: one query per release, five at most.
    const past = (await control.deployments.irreversibleSince(env, r.id)).length > 0;
    pastIrreversible ||= past;
    keyboard
      .text(`${past ? '⚠️ ' : ''}${shortSha(r.sha)} · ${formatAgo(r.deployedAt)}`, `rollback:${r.id}`)
      .row();
  }
  const warning = pastIrreversible
    ? ' ⚠️ marks a release older than a migration that cannot be undone: the tap asks again first.'
    : '';
  await ctx.reply(
    `Roll ${env} back to which release? It runs <code>${shortSha(current.sha)}</code> (deployed ${formatAgo(current.deployedAt)}). One tap deploys the release again.${warning}`,
    { reply_markup: keyboard },
  );
});

/**
 * What one tap is a repeat of: the message the buttons sit on (Telegram's ids, not the
 * button's data). One message of /rollback buttons deploys once, whoever taps it.
 */
function requestKeyOf(ctx: BotContext): string {
  const q = ctx.callbackQuery;
  if (q?.message) return `rollback:${q.message.chat.id}:${q.message.message_id}`;
  return `rollback:inline:${q?.inline_message_id ?? q?.id}`;
}

/** The answer to a tap that another tap (or admin) already turned into a deploy. */
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

const REFUSED = 'This release cannot be deployed again.';

/** What a /restore button carries for a backup file: its name without the environment and `.dump`. */
const tokenOf = (env: string, file: string) => file.replace(`${env}-`, '').replace(/\.dump$/, '');

/** The warning's keyboard, with a row that opens /restore's confirmation for the backup when it is still on disk. */
function withRestoreOffer(keyboard: InlineKeyboard, backup: BackupChoice | undefined): InlineKeyboard {
  return backup ? keyboard.row().text('Restore that backup…', `restore:pick:${backup.token}`) : keyboard;
}

/**
 * A tap on a release (`rollback:<id>`) or on “Roll back anyway” (`rollback:sure:<id>`).
 * Past an irreversible migration, the first asks first; both then deploy once per message.
 */
composer.callbackQuery(/^rollback:(sure:)?(\d{1,12})$/, requireAdmin('rollback button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  const confirmed = ctx.match[1] !== undefined;
  const source = await control.deployments.get(Number(ctx.match[2]));
  if (!source || source.env !== control.env || source.status !== 'succeeded' || !source.sha) {
    await ctx.answerCallbackQuery({ text: REFUSED, show_alert: true });
    return;
  }
  const irreversible = await control.deployments.irreversibleSince(control.env, source.id);
  if (irreversible.length > 0 && !confirmed) {
    const backup = await control.deployments.backupOf(irreversible[0]!.deploymentId);
    await ctx.deps.audit.record({
      actorId: ctx.from.id,
      actorName: actorName(ctx),
      action: '/rollback',
      outcome: 'refused',
      details: {
        env: control.env,
        sha: source.sha,
        reason: 'irreversible migrations: asked to confirm',
        migrations: irreversible.map((m) => m.name),
      },
    });
    await ctx.answerCallbackQuery({ text: 'Irreversible migrations in the way: confirm below' });
    await ctx
      .editMessageText(
        irreversibleWarning({ env: control.env, sha: source.sha, migrations: irreversible, backup }),
        {
          reply_markup: withRestoreOffer(
            new InlineKeyboard()
              .text('Roll back anyway', `rollback:sure:${source.id}`)
              .text('Cancel', 'rollback:cancel'),
            ctx.deps.restore && backup
              ? await ctx.deps.restore.find(tokenOf(control.env, backup.file))
              : undefined,
          ),
        },
      )
      .catch((error: unknown) => {
        // A second tap on the same picker: the warning is showing already.
        if (!notModified(error)) throw error;
      });
    return;
  }
  const requested = await control.request({
    ref: source.sha,
    sha: source.sha,
    trigger: 'rollback',
    requester: { id: ctx.from.id, name: actorName(ctx) },
    chatId: ctx.chat?.id,
    action: '/rollback',
    key: requestKeyOf(ctx),
  });
  if (requested.outcome === 'already') {
    await ctx.answerCallbackQuery({ text: alreadyText(requested.deployment), show_alert: true });
    return;
  }
  if (requested.outcome === 'locked') {
    // The refusal is longer than an alert may be, and names the lock in HTML: a reply.
    await ctx.answerCallbackQuery({ text: `${control.env} is locked; nothing was queued` });
    await ctx.reply(lockedMessage(control.env, requested.lock));
    return;
  }
  // A rollback names its commit by full SHA: nothing is resolved on the forge.
  if (requested.outcome === 'unknown_commit') throw new Error(`release ${source.sha} was not resolved`);
  const { deployment } = requested;
  const past = irreversible.length
    ? ` It goes back past ${irreversible.map((m) => `<code>${escapeHtml(m.name)}</code>`).join(', ')}; the database stays as it is.`
    : '';
  await ctx.answerCallbackQuery({ text: 'Rolling back' });
  await ctx.editMessageText(
    `↩️ Rolling ${control.env} back to <code>${escapeHtml(shortSha(source.sha))}</code>: deploy #${deployment.id} is queued; progress follows here.${past}`,
  );
});

composer.callbackQuery('rollback:cancel', requireAdmin('rollback button'), async (ctx) => {
  await ctx.deps.audit.record({
    actorId: ctx.from.id,
    actorName: actorName(ctx),
    action: '/rollback',
    outcome: 'refused',
    details: { reason: 'cancelled at the irreversible-migrations warning' },
  });
  await ctx.answerCallbackQuery({ text: 'Cancelled' });
  await ctx
    .editMessageText('🚫 Rollback cancelled; nothing was deployed. Send /rollback again for a new choice.')
    .catch((error: unknown) => {
      if (!notModified(error)) throw error;
    });
});

export const rollbackFeature: Feature = {
  commands: [
    { command: 'rollback', description: 'Deploy an earlier release again: /rollback <env>', access: 'admin' },
  ],
  composer,
};
