import { Composer, InlineKeyboard } from 'grammy';
import { FLAGS, flagVariable } from '../../config/feature-flags.js';
import type { Config } from '../../config/index.js';
import type { BotContext, Feature } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

type View = 'summary' | 'details';

export function renderFlags(config: Config, view: View): string {
  const lines = config.flagDetails.map((f) => {
    const mark = f.enabled ? '✅' : '⬜️';
    if (view === 'summary') return `${mark} <code>${f.key}</code>`;
    const def = FLAGS[f.key];
    const follows = f.defaultFrom
      ? `, as ${f.defaultFrom} is ${f.enabled || f.disabledBy ? 'set' : 'not set'}`
      : '';
    const origin =
      f.source === 'env' ? `set by ${flagVariable(f.key)}` : `${config.appEnv} default${follows}`;
    const deps = def.dependsOn.length ? `; needs ${def.dependsOn.join(', ')}` : '';
    const off = f.disabledBy ? ` — off because ${f.disabledBy} is off` : '';
    return `${mark} <code>${f.key}</code> (${def.maturity}, ${origin}${deps})${off}\n    ${escapeHtml(def.description)}`;
  });
  return `<b>Feature flags</b> of ${config.appEnv}\n${lines.join('\n')}`;
}

function keyboard(view: View): InlineKeyboard {
  return view === 'summary'
    ? new InlineKeyboard().text('Details', 'flags:details')
    : new InlineKeyboard().text('Summary', 'flags:summary');
}

const composer = new Composer<BotContext>();

composer.command('flags', requireAdmin('/flags'), async (ctx) => {
  await ctx.reply(renderFlags(ctx.deps.config, 'summary'), { reply_markup: keyboard('summary') });
});

composer.callbackQuery(/^flags:(summary|details)$/, requireAdmin('flags button'), async (ctx) => {
  const view = ctx.match[1] as View;
  await ctx.editMessageText(renderFlags(ctx.deps.config, view), { reply_markup: keyboard(view) });
  await ctx.answerCallbackQuery();
});

export const flagsFeature: Feature = {
  commands: [{ command: 'flags', description: 'Feature flags of this instance', access: 'admin' }],
  composer,
};
