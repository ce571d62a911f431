import { Composer, InlineKeyboard } from 'grammy';
import type { BackupChoice, RestoreResult } from '../../deploys/restore-control.js';
import type { ButtonOffer } from '../../store/button-offers.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf } from '../deploys/env-argument.js';
import { lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatDuration, formatUtc, shortSha } from '../html.js';
import { notModified } from '../telegram-errors.js';

const CHOICES_SHOWN = 8;
/** How long a /restore list's buttons (and its confirmation's) hold: the list may change. */
export const RESTORE_CONFIRM_MS = 10 * 60_000;
const composer = new Composer<BotContext>();

const ignoreNotModified = (error: unknown) => {
  if (!notModified(error)) throw error;
};

/** One backup in sentences. */
function choiceSentence(c: BackupChoice): string {
  const what =
    c.kind === 'pre-restore'
      ? 'before a restore'
      : c.deploymentId !== undefined
        ? `before deploy #${c.deploymentId}`
        : 'before a deploy';
  return `${what} · ${shortSha(c.sha)} · ${formatUtc(c.takenAt)}`;
}

/** One backup as a button label, short enough to show whole on a 390 px phone (times in UTC). */
export function choiceText(c: BackupChoice): string {
  const what =
    c.kind === 'pre-restore'
      ? 'before restore'
      : c.deploymentId !== undefined
        ? `before #${c.deploymentId}`
        : 'before deploy';
  const when = c.takenAt.toISOString().slice(5, 16).replace('T', ' ');
  return `${what} · ${shortSha(c.sha)} · ${when}`;
}

/** Why this bot cannot restore, or undefined when it can. */
function unavailable(ctx: BotContext): string | undefined {
  const env = ctx.deps.deploys?.env ?? ctx.deps.config.appEnv;
  if (env !== 'production')
    return `/restore is production only: ${env} takes no backup before a deploy, so there is nothing to restore here. To restore production, send /restore to the production bot.`;
  if (!ctx.deps.restore)
    return '/restore needs the deploy engine and the backups directory, which this instance runs without.';
  return undefined;
}

/**
 * /restore: production's backups, newest first, one tap each; the tap asks to confirm. The
 * buttons carry an offer's id (who asked, until when: button_offers) and the backup's name,
 * checked again on each tap: only the asker's taps count, and none after it expired.
 */
composer.command('restore', requireAdmin('/restore'), async (ctx) => {
  const why = unavailable(ctx);
  if (why) return ctx.reply(why);
  const restore = ctx.deps.restore!;
  const args = argsOf(ctx);
  if (args.length === 1 && args[0] === 'staging') {
    await ctx.reply(
      'Staging takes no backup before a deploy, so it has nothing to restore. <code>/restore</code> here restores production.',
    );
    return;
  }
  if (args.length > 1 || (args[0] !== undefined && args[0] !== 'production')) {
    await ctx.reply(
      'Send <code>/restore</code> alone (or <code>/restore production</code>) and pick the backup from the list.',
    );
    return;
  }
  const choices = await restore.list(CHOICES_SHOWN);
  if (choices.length === 0) {
    await ctx.reply(
      ctx.deps.config.deploy.backup === 'off'
        ? 'There is no backup of production to restore: DEPLOY_BACKUP=off, so deploys take none. Set DEPLOY_BACKUP=pg_dump to have one taken before each production deploy.'
        : 'There is no backup of production to restore: one is taken before each production deploy (DEPLOY_BACKUP=pg_dump) into LUGH_HOME/backups, and none is there yet.',
    );
    return;
  }
  const offer = await offerRestore(ctx);
  const keyboard = new InlineKeyboard();
  for (const c of choices) keyboard.text(choiceText(c), `restore:pick:${offer.id}:${c.token}`).row();
  await ctx.reply(
    `Restore production’s database from which backup? Newest first. The next step asks to confirm; the whole database is replaced. The buttons are for ${escapeHtml(actorName(ctx) ?? 'the admin who asked')} and expire in ${formatDuration(RESTORE_CONFIRM_MS)}.`,
    { reply_markup: keyboard },
  );
});

/**
 * Buttons for restoring (this list, or the offer of a rollback's warning) that answer only
 * `ctx`'s user and expire after RESTORE_CONFIRM_MS: an offer in Postgres, so any process
 * checks the same.
 */
export function offerRestore(ctx: BotContext): Promise<ButtonOffer> {
  return ctx.deps.deploys!.deployments.createButtonOffer({
    kind: 'restore',
    env: 'production',
    requestedBy: ctx.from!.id,
    requestedByName: actorName(ctx),
    chatId: ctx.chat?.id,
    ms: RESTORE_CONFIRM_MS,
  });
}

/**
 * The offer a restore button belongs to, when the tapper may use it now; otherwise
 * undefined, after answering (and, when it expired, editing the message to say so).
 */
async function usableOffer(ctx: BotContext, id: number): Promise<ButtonOffer | undefined> {
  const offer = await ctx.deps.deploys!.deployments.buttonOffer(id, 'restore');
  if (!offer) {
    await ctx.answerCallbackQuery({
      text: 'These buttons no longer work. Send /restore again.',
      show_alert: true,
    });
    return undefined;
  }
  if (offer.requestedBy !== ctx.from!.id) {
    await ctx.deps.audit.record({
      actorId: ctx.from!.id,
      actorName: actorName(ctx),
      action: 'restore button',
      outcome: 'refused',
      details: { reason: 'not the asker’s buttons', offerId: offer.id },
    });
    await ctx.answerCallbackQuery({
      text: `Only ${offer.requestedByName ?? 'the admin who asked'} can use these buttons. Send /restore for your own.`,
      show_alert: true,
    });
    return undefined;
  }
  if (offer.expired) {
    await ctx.answerCallbackQuery({
      text: 'These buttons expired; nothing was restored. Send /restore again.',
      show_alert: true,
    });
    await ctx
      .editMessageText('⌛ These buttons expired; the database was not touched. Send /restore again.')
      .catch(ignoreNotModified);
    return undefined;
  }
  return offer;
}

composer.callbackQuery(
  /^restore:pick:(\d{1,12}):([0-9a-zA-Z-]{1,40})$/,
  requireAdmin('restore button'),
  async (ctx) => {
    const why = unavailable(ctx);
    if (why) return ctx.answerCallbackQuery({ text: why.replace(/<[^>]+>/g, ''), show_alert: true });
    const offer = await usableOffer(ctx, Number(ctx.match[1]));
    if (!offer) return;
    const choice = await ctx.deps.restore!.find(ctx.match[2]!);
    if (!choice) {
      await ctx.answerCallbackQuery({
        text: 'This backup is no longer there (older backups are removed as new ones are taken). Send /restore for the current list.',
        show_alert: true,
      });
      return;
    }
    await ctx.answerCallbackQuery();
    const left = Math.max(0, offer.expiresAt.getTime() - Date.now());
    await ctx
      .editMessageText(
        `Restore <code>${escapeHtml(choice.file)}</code> (${escapeHtml(choiceSentence(choice))})? This replaces the production database; a backup of the current state is taken first. Deploys are refused while it runs. If the version running now is newer than the backup, /rollback first: a newer version migrates the database forward again when it next starts. The buttons expire in ${formatDuration(left)}.`,
        {
          reply_markup: new InlineKeyboard()
            .text('Restore', `restore:go:${offer.id}:${choice.token}`)
            .text('Cancel', `restore:no:${offer.id}`),
        },
      )
      .catch(ignoreNotModified);
  },
);

composer.callbackQuery(/^restore:no:(\d{1,12})$/, requireAdmin('restore button'), async (ctx) => {
  if (!(await usableOffer(ctx, Number(ctx.match[1])))) return;
  await ctx.answerCallbackQuery({ text: 'Cancelled' });
  await ctx.editMessageText('🚫 Restore cancelled; the database was not touched.').catch(ignoreNotModified);
});

/** What one confirmation is: the message its buttons sit on. */
function requestKeyOf(ctx: BotContext): string {
  const q = ctx.callbackQuery;
  if (q?.message) return `restore:${q.message.chat.id}:${q.message.message_id}`;
  return `restore:inline:${q?.inline_message_id ?? q?.id}`;
}

/** The result of a restore, as the confirmation message becomes (HTML). */
export function restoreResultText(result: RestoreResult, ms?: number): string {
  switch (result.outcome) {
    case 'restored': {
      const ended = result.ended.length
        ? ` Deploy${result.ended.length > 1 ? 's' : ''} ${result.ended.map((id) => `#${id}`).join(', ')}, live when the backup was taken, ${result.ended.length > 1 ? 'are' : 'is'} marked failed.`
        : '';
      return `✅ Production’s database was restored from <code>${escapeHtml(result.choice.file)}</code> in ${formatDuration(ms ?? result.ms)}. The state before it is in <code>${escapeHtml(result.preRestore)}</code> (/restore offers it).${ended} The version running now must fit this database: if it is newer than the backup, /rollback, or it migrates the database forward again when it next starts.`;
    }
    case 'failed':
      if (result.stage === 'clear')
        return `❌ The restore did not start: ${escapeHtml(result.message)}. The current state was backed up to <code>${escapeHtml(result.preRestore ?? '')}</code> all the same; try again with /restore.`;
      if (result.stage === 'check')
        return `❌ The restore did not start: ${escapeHtml(result.message)}. The database was not touched; pick another backup with /restore.${tail(result.logTail)}`;
      return result.stage === 'backup'
        ? `❌ The restore did not start: the backup of the current state failed (${escapeHtml(result.message)}). The database was not touched.${tail(result.logTail)}`
        : `❌ The restore from <code>${escapeHtml(result.choice.file)}</code> failed: ${escapeHtml(result.message)}. ${
            result.putBack
              ? `The database was put back from <code>${escapeHtml(result.preRestore ?? '')}</code>, the backup taken just before.`
              : `Putting the state before back failed too: restore <code>${escapeHtml(result.preRestore ?? '')}</code> with /restore, or by hand with pg_restore.`
          }${tail(result.logTail)}`;
    case 'missing':
      return '⚠️ That backup is no longer there. Send /restore for the current list.';
    case 'already':
      return 'This confirmation restored the database already; nothing was done again. Send /restore for a new choice.';
    case 'deploying':
      return `⛔ Deploy #${result.deploymentId} is under way; a restore waits until no deploy runs. Nothing was changed; try again when it has finished.`;
    case 'locked':
      return lockedMessage('production', result.lock).replace('Nothing was queued', 'Nothing was restored');
  }
}

const tail = (lines: readonly string[]) =>
  lines.length ? `\n<pre>${escapeHtml(lines.slice(-5).join('\n'))}</pre>` : '';

composer.callbackQuery(
  /^restore:go:(\d{1,12}):([0-9a-zA-Z-]{1,40})$/,
  requireAdmin('restore button'),
  async (ctx) => {
    const why = unavailable(ctx);
    if (why) return ctx.answerCallbackQuery({ text: why.replace(/<[^>]+>/g, ''), show_alert: true });
    if (!(await usableOffer(ctx, Number(ctx.match[1])))) return;
    // A restore takes a while: the tap is answered at once (Telegram drops late answers).
    await ctx.answerCallbackQuery({ text: 'Restoring…' });
    const requester = { id: ctx.from.id, name: actorName(ctx) };
    const token = ctx.match[2]!;
    const choice = await ctx.deps.restore!.find(token);
    if (choice)
      await ctx
        .editMessageText(
          `⏳ Restoring production from <code>${escapeHtml(choice.file)}</code>: backing up the current state first…`,
        )
        .catch(ignoreNotModified);
    const started = Date.now();
    const result = await ctx.deps.restore!.restore({
      token,
      requester,
      requestKey: requestKeyOf(ctx),
    });
    ctx.deps.logger.info({ outcome: result.outcome, token }, 'restore');
    const text = restoreResultText(result, Date.now() - started);
    if (result.outcome === 'restored' || result.outcome === 'failed' || result.outcome === 'missing')
      await ctx.editMessageText(text).catch(ignoreNotModified);
    else await ctx.reply(text);
    // A restore (or an attempt that touched the database) is news for the notify chat too.
    const notifyChat = ctx.deps.config.notify.chatId;
    if ((result.outcome === 'restored' || result.outcome === 'failed') && notifyChat !== ctx.chat?.id)
      await ctx.api
        .sendMessage(
          notifyChat,
          `${text}\n(/restore by ${escapeHtml(requester.name ?? String(requester.id))})`,
        )
        .catch((error: unknown) =>
          ctx.deps.logger.warn({ err: error }, 'could not tell the notify chat about the restore'),
        );
  },
);

/** Buttons of a list sent before lists were offers: they carry no asker or expiry. */
composer.callbackQuery(
  /^restore:(pick:[0-9a-zA-Z-]{1,40}|go:[0-9a-zA-Z-]{1,40}:\d{1,12}|no)$/,
  async (ctx) => {
    await ctx.answerCallbackQuery({
      text: 'These buttons are from an older list and no longer work; nothing was restored. Send /restore again.',
      show_alert: true,
    });
  },
);

export const restoreFeature: Feature = {
  commands: [
    {
      command: 'restore',
      description: 'Restore production’s database from a backup',
      access: 'admin',
      only: 'production',
    },
  ],
  composer,
};
