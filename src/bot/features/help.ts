import { Composer } from 'grammy';
import type { AppEnv } from '../../config/environments.js';
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
    `<b>${escapeHtml(config.botDisplayName)}</b> (${config.appEnv})\n${lines.join('\n')}\n\n${OTHER_BOT[config.appEnv]}${footer}`,
  );
});

/** The one line of /help that points to the other environment's bot. */
const OTHER_BOT: Readonly<Record<AppEnv, string>> = {
  staging: 'The production bot deploys what /promote hands over and reports there; /restore is on it.',
  production: 'Promotions start on the staging bot: send /promote there.',
};

export const helpFeature: Feature = {
  commands: [{ command: 'help', description: 'The commands you can run', access: 'everyone' }],
  composer,
};
