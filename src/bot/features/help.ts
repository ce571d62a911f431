import { Composer } from 'grammy';
import type { BotContext, CommandInfo, Feature } from '../context.js';
import { anonymousAdvice, anonymousSender } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

/** The commands this user may run: everyone's, plus the admin ones for admins. */
export function commandsFor(commands: readonly CommandInfo[], isAdmin: boolean): CommandInfo[] {
  return commands.filter((c) => c.access === 'everyone' || isAdmin);
}

const composer = new Composer<BotContext>();

composer.command('help', async (ctx) => {
  const { config } = ctx.deps;
  const lines = commandsFor(ctx.commands, ctx.isAdmin).map(
    (c) => `/${c.command} — ${escapeHtml(c.description)}`,
  );
  const anonymous = anonymousSender(ctx);
  const footer = ctx.isAdmin
    ? ''
    : anonymous
      ? `\nAdmin commands are hidden: ${anonymousAdvice(anonymous)}`
      : '\nAdmin commands are hidden: you are not in ADMIN_IDS.';
  await ctx.reply(
    `<b>${escapeHtml(config.botDisplayName)}</b> (${config.appEnv})\n${lines.join('\n')}${footer}`,
  );
});

export const helpFeature: Feature = {
  commands: [{ command: 'help', description: 'The commands you can run', access: 'everyone' }],
  composer,
};
