import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';
import { renderShortStatus, renderStatus, renderStatusDetails } from '../status/render.js';
import { notModified } from '../telegram-errors.js';
import { replyHistory } from './history.js';
import { replyLogs } from './logs.js';

/**
 * The compact view's buttons: Details, Refresh, History, Logs; the detailed view's swap
 * Details for Brief, and its Refresh re-renders the details.
 */
const keyboard = (view: 'compact' | 'details') =>
  (view === 'compact'
    ? new InlineKeyboard().text('Details', 'status:details').text('Refresh', 'status:refresh')
    : new InlineKeyboard().text('Brief', 'status:brief').text('Refresh', 'status:details')
  )
    .text('History', 'status:history')
    .text('Logs', 'status:logs');

const composer = new Composer<BotContext>();

/**
 * /status: both environments, develop against main, CI and the open promotion, every
 * source asked at once with its own deadline. Admins get one phone screen with a Details
 * button for the rest; others the short form, or a refusal (STATUS_FOR_OTHERS=off).
 */
composer.command('status', async (ctx, next) => {
  const status = ctx.deps.status;
  if (!status) {
    await ctx.reply('/status is not available on this instance.');
    return;
  }
  if (!ctx.isAdmin) {
    if (ctx.deps.config.statusForOthers === 'off') return requireAdmin('/status')(ctx, next);
    await ctx.reply(renderShortStatus(await status.report({ brief: true })));
    return;
  }
  await ctx.reply(renderStatus(await status.report()), { reply_markup: keyboard('compact') });
});

/**
 * Refresh (compact), Brief (back to compact), Details (the full report, and its Refresh):
 * each answers at once, then edits the message in place.
 */
composer.callbackQuery(
  /^status:(refresh|brief|details|history|logs)$/,
  requireAdmin('status button'),
  async (ctx) => {
    const action = ctx.match[1];
    const status = ctx.deps.status;
    const deploys = ctx.deps.deploys;
    if (action !== 'history' && action !== 'logs' && status) {
      const view = action === 'details' ? 'details' : 'compact';
      await ctx.answerCallbackQuery(action === 'refresh' ? { text: 'Refreshed' } : undefined);
      const report = await status.report();
      await ctx
        .editMessageText(view === 'details' ? renderStatusDetails(report) : renderStatus(report), {
          reply_markup: keyboard(view),
        })
        .catch((error: unknown) => {
          if (!notModified(error)) throw error;
        });
      return;
    }
    if (!deploys)
      return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
    await ctx.answerCallbackQuery();
    if (action === 'history') await replyHistory(ctx, deploys);
    else await replyLogs(ctx, deploys, 50);
  },
);

export const statusFeature: Feature = {
  commands: [{ command: 'status', description: 'Both environments at a glance', access: 'everyone' }],
  composer,
};
