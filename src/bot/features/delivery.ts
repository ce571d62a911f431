import { Composer, InputFile } from 'grammy';
import {
  DEFAULT_DELIVERY_WINDOW,
  DELIVERY_WINDOWS,
  type DeliveryWindow,
  deliveryReport,
} from '../../deploys/delivery-report.js';
import type { BotContext, Feature } from '../context.js';
import { ChartUnavailableError } from '../deploys/chart-png.js';
import { renderDeliveryChart } from '../deploys/delivery-chart.js';
import { deliveryCaption } from '../deploys/delivery-text.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { parseEnv } from '../deploys/parse-words.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';
import { plainLength, TELEGRAM_CAPTION_LIMIT } from '../telegram-limits.js';

const composer = new Composer<BotContext>();

const USAGE = `Send <code>/delivery</code> (the last ${DEFAULT_DELIVERY_WINDOW} days), <code>/delivery 7</code> or <code>/delivery 90</code>; the window is 7, 30 or 90 days.`;

/** The window and environment word a /delivery names, or what is wrong with its words. */
export function deliveryArguments(
  words: readonly string[],
): { days: DeliveryWindow; envWord?: string } | { problem: string } {
  let days: DeliveryWindow | undefined;
  let envWord: string | undefined;
  for (const word of words) {
    const n = /^\d+d?$/i.test(word) ? Number.parseInt(word, 10) : undefined;
    if (n !== undefined) {
      if (days !== undefined || !DELIVERY_WINDOWS.includes(n as DeliveryWindow))
        return { problem: `“${escapeHtml(word.slice(0, 20))}” is not a window lugh offers. ${USAGE}` };
      days = n as DeliveryWindow;
    } else if (parseEnv(word) && envWord === undefined) envWord = word;
    else
      return {
        problem: `“${escapeHtml(word.slice(0, 20))}” is neither a window nor an environment. ${USAGE}`,
      };
  }
  return { days: days ?? DEFAULT_DELIVERY_WINDOW, envWord };
}

composer.command('delivery', requireAdmin('/delivery'), async (ctx) => {
  const args = deliveryArguments(argsOf(ctx));
  if ('problem' in args) return void (await ctx.reply(args.problem));
  const target = await envArgument(ctx, 'delivery', args.envWord, { optional: true });
  if (!target) return;
  const report = await deliveryReport(target.control.deployments, target.env, args.days, new Date());
  const caption = deliveryCaption(report);
  if (report.current.changes === 0 && report.previous.changes === 0) return void (await ctx.reply(caption));
  let png: Buffer;
  try {
    png = await renderDeliveryChart(report);
  } catch (error) {
    if (!(error instanceof ChartUnavailableError)) throw error;
    await ctx.reply(`${caption}\n\n${escapeHtml(error.message)}`);
    return;
  }
  const fits = plainLength(caption) <= TELEGRAM_CAPTION_LIMIT;
  await ctx.replyWithPhoto(new InputFile(png, `${target.env}-delivery-${args.days}d.png`), {
    caption: fits ? caption : `📦 ${escapeHtml(target.env)}: delivery, last ${args.days} days`,
  });
  if (!fits) await ctx.reply(caption);
});

export const deliveryFeature: Feature = {
  commands: [
    {
      command: 'delivery',
      description: 'Delivery figures (DORA): /delivery [7|30|90]',
      access: 'admin',
    },
  ],
  composer,
};
