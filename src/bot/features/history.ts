import { Composer, InlineKeyboard, InputFile } from 'grammy';
import type { DeployControl } from '../../deploys/deploy-control.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { CHART_DAYS, ChartUnavailableError, renderHistoryChart } from '../deploys/history-chart.js';
import { renderHistory } from '../deploys/render.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();
/** Deploys read for the chart: more than a month of them is more than one a day for 30 days. */
const CHART_ROWS = 300;

/** The last 10 deployments of this instance's environment, as a reply, with a Chart button. */
export async function replyHistory(ctx: BotContext, control: DeployControl): Promise<void> {
  const rows = await control.deployments.recent(control.env, 10, { unconfirmed: true });
  await ctx.reply(renderHistory(control.env, rows), {
    reply_markup: rows.length ? new InlineKeyboard().text('Chart, 30 days', 'history:chart') : undefined,
  });
}

/** The last 30 days of deploys as a chart (PNG), with a caption that says it in words. */
export async function replyHistoryChart(ctx: BotContext, control: DeployControl): Promise<void> {
  const rows = await control.deployments.recent(control.env, CHART_ROWS);
  let chart: Awaited<ReturnType<typeof renderHistoryChart>>;
  try {
    chart = await renderHistoryChart(control.env, rows);
  } catch (error) {
    if (!(error instanceof ChartUnavailableError)) throw error;
    await ctx.reply(escapeHtml(error.message));
    return;
  }
  await ctx.replyWithPhoto(new InputFile(chart.png, `${control.env}-deploys-${CHART_DAYS}d.png`), {
    caption: chart.caption,
  });
}

composer.command('history', requireAdmin('/history'), async (ctx) => {
  const words = argsOf(ctx);
  const chart = words.includes('chart');
  const [envWord] = words.filter((w) => w !== 'chart');
  const target = await envArgument(ctx, 'history', envWord, { optional: true });
  if (!target) return;
  if (chart) await replyHistoryChart(ctx, target.control);
  else await replyHistory(ctx, target.control);
});

composer.callbackQuery('history:chart', requireAdmin('history chart button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  await ctx.answerCallbackQuery();
  await replyHistoryChart(ctx, control);
});

export const historyFeature: Feature = {
  commands: [
    {
      command: 'history',
      description: 'Last deployments: /history [env] [chart]',
      access: 'admin',
    },
  ],
  composer,
};
