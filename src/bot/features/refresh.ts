import { Composer, InlineKeyboard } from 'grammy';
import type { ButtonOffer } from '../../store/button-offers.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf } from '../deploys/env-argument.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatDuration } from '../html.js';
import { notModified } from '../telegram-errors.js';

/** How long the confirmation's buttons hold. */
export const REFRESH_CONFIRM_MS = 5 * 60_000;

const composer = new Composer<BotContext>();
const ignoreNotModified = (error: unknown) => {
  if (!notModified(error)) throw error;
};

const STEP_TEXT: Record<string, string> = {
  'production:copy': 'production: a temporary copy of its database',
  'production:restore': 'production: its data into the copy',
  'production:anonymise': 'production: the rules of lugh.anonymise.yml applied to the copy',
  'production:scan': 'production: the copy scanned for personal values left in keep columns',
  'production:dump': 'production: the anonymised copy dumped (the copy is then dropped)',
  'production:sign': 'production: the dump signed and handed to staging',
  'staging:verify': 'staging: signature, digest and nonce checked',
  'staging:lock': 'staging: its deploy lock taken',
  'staging:backup': 'staging: its own database backed up',
  'staging:restore': 'staging: the dump restored (one transaction)',
  'staging:migrate': 'staging: its migrations',
  'staging:count': 'staging: rows counted',
};

/** Why this bot cannot refresh staging, or undefined when it can. */
function unavailable(ctx: BotContext): string | undefined {
  const { config } = ctx.deps;
  if (config.appEnv !== 'production')
    return 'Send <code>/refresh staging</code> to the <b>production</b> bot: production copies its anonymised data to staging; staging never reads production.';
  if (!config.flags.staging_refresh)
    return 'The flag staging_refresh is off in production. Set FEATURE_STAGING_REFRESH=true in production’s env file, and in staging’s (both must opt in).';
  const r = config.refresh;
  const missing = [
    !r.signingKey && 'REFRESH_SIGNING_KEY',
    !r.hashKey && 'REFRESH_HASH_KEY',
    !r.dir && 'REFRESH_DIR',
  ].filter(Boolean);
  if (missing.length)
    return `/refresh staging needs ${missing.join(', ')} set in production (README, “Staging with production-shaped data”; <code>lugh keys</code> prints the key pair).`;
  if (!ctx.deps.refresh || !ctx.deps.offers)
    return '/refresh staging needs the database, which this instance runs without.';
  return undefined;
}

composer.command('refresh', requireAdmin('/refresh'), async (ctx) => {
  const why = unavailable(ctx);
  if (why) return ctx.reply(why);
  const args = argsOf(ctx);
  if (args.length !== 1 || args[0] !== 'staging')
    return ctx.reply(
      'Send <code>/refresh staging</code>: staging’s database is replaced by production’s, anonymised.',
    );
  const offer = await ctx.deps.offers!.createButtonOffer({
    kind: 'refresh',
    env: 'production',
    requestedBy: ctx.from!.id,
    requestedByName: actorName(ctx),
    chatId: ctx.chat?.id,
    ms: REFRESH_CONFIRM_MS,
  });
  await ctx.reply(
    `Refresh staging with production’s data? Production copies its latest backup (or a fresh dump) into a temporary database, anonymises it by lugh.anonymise.yml at the running commit (a table or column the rules do not mention stops it), scans it, and hands the signed dump to staging, which backs up its own database, replaces it, and runs its migrations. Staging deploys wait meanwhile. The buttons are for ${escapeHtml(actorName(ctx) ?? 'the admin who asked')} and expire in ${formatDuration(REFRESH_CONFIRM_MS)}.`,
    {
      reply_markup: new InlineKeyboard()
        .text('Yes, refresh staging', `refresh:go:${offer.id}`)
        .text('No', `refresh:no:${offer.id}`),
    },
  );
});

/** The offer when the tapper may use it now; otherwise undefined, after answering. */
async function usableOffer(ctx: BotContext, id: number): Promise<ButtonOffer | undefined> {
  const offer = await ctx.deps.offers!.buttonOffer(id, 'refresh');
  if (!offer) {
    await ctx.answerCallbackQuery({
      text: 'These buttons no longer work. Send /refresh staging again.',
      show_alert: true,
    });
    return undefined;
  }
  if (offer.requestedBy !== ctx.from!.id) {
    await ctx.answerCallbackQuery({
      text: `Only ${offer.requestedByName ?? 'the admin who asked'} can use these buttons. Send /refresh staging for your own.`,
      show_alert: true,
    });
    return undefined;
  }
  if (offer.expired) {
    await ctx.answerCallbackQuery({ text: 'These buttons expired; nothing was done.', show_alert: true });
    await ctx
      .editMessageText('⌛ These buttons expired; staging was not touched. Send /refresh staging again.')
      .catch(ignoreNotModified);
    return undefined;
  }
  return offer;
}

composer.callbackQuery(/^refresh:no:(\d{1,12})$/, requireAdmin('refresh button'), async (ctx) => {
  if (!(await usableOffer(ctx, Number(ctx.match[1])))) return;
  await ctx.answerCallbackQuery({ text: 'Cancelled' });
  await ctx.editMessageText('🚫 Refresh cancelled; staging was not touched.').catch(ignoreNotModified);
});

/** The live message: each step so far, the current one last. */
export function progressText(done: readonly string[], final?: string): string {
  const lines = done.map(
    (key, i) => `${i === done.length - 1 && !final ? '⏳' : '✓'} ${STEP_TEXT[key] ?? key}`,
  );
  return [`<b>Refreshing staging from production</b>`, ...lines, ...(final ? ['', final] : [])].join('\n');
}

composer.callbackQuery(/^refresh:go:(\d{1,12})$/, requireAdmin('refresh button'), async (ctx) => {
  const why = unavailable(ctx);
  if (why) return ctx.answerCallbackQuery({ text: why.replace(/<[^>]+>/g, ''), show_alert: true });
  const offer = await usableOffer(ctx, Number(ctx.match[1]));
  if (!offer) return;
  if (!(await ctx.deps.offers!.useButtonOffer(offer.id))) {
    await ctx.answerCallbackQuery({ text: 'This refresh was confirmed already.' });
    return;
  }
  await ctx.answerCallbackQuery();
  const steps: string[] = [];
  const show = (final?: string) => ctx.editMessageText(progressText(steps, final)).catch(ignoreNotModified);
  await show();
  const started = Date.now();
  const who = actorName(ctx) ?? String(ctx.from!.id);
  // The refresh outlives the callback: it is not awaited by the update's handling.
  void ctx.deps
    .refresh!.run(who, async (p) => {
      steps.push(`${p.side}:${p.step}`);
      await show();
    })
    .then(async (result) => {
      const rows = Object.entries(result.status.rows)
        .map(([t, n]) => `${escapeHtml(t)} ${n}`)
        .join(', ');
      await show(
        `✅ Staging holds production’s anonymised data (from ${escapeHtml(result.source)}, rules at ${result.sourceCommit.slice(0, 7)}) after ${formatDuration(Date.now() - started)}: ${rows || 'no tables'}. Staging’s data before it: <code>${escapeHtml(result.status.backup)}</code> in staging’s LUGH_HOME/backups.`,
      );
    })
    .catch(async (error: unknown) => {
      const message = ctx.deps.redact(error instanceof Error ? error.message : String(error));
      // The message only: an error's own fields can hold production's data (a failed
      // pg_restore's last lines quote rows), which must not reach the log.
      ctx.deps.logger.warn(
        { error: error instanceof Error ? error.name : 'Error' },
        `/refresh staging failed: ${message}`,
      );
      await show(
        `❌ Refresh stopped: ${escapeHtml(message)}. Staging is as it was; no temporary database is left.`,
      );
    });
});

export const refreshFeature: Feature = {
  commands: [
    {
      command: 'refresh',
      description: 'Refresh staging with production’s anonymised data',
      access: 'admin',
      only: 'production',
    },
  ],
  composer,
};
