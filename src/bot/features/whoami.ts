import { Composer } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { anonymousAdvice, anonymousSender } from '../guards/is-admin.js';
import { escapeHtml, versionText } from '../html.js';

const composer = new Composer<BotContext>();

composer.command('whoami', async (ctx) => {
  const { config } = ctx.deps;
  const from = ctx.from;
  if (!from) return;
  const name = from.username ? `@${from.username}` : from.first_name;
  const anonymous = anonymousSender(ctx);
  const buildSha = config.build.gitSha;
  // Postgres unreachable: /whoami still answers, with the build's version.
  const running = await ctx.deps.runningVersion?.().catch((error: unknown) => {
    ctx.deps.logger.warn({ err: error }, '/whoami could not read the running version');
    return undefined;
  });
  const version = running ?? { sha: buildSha, from: buildSha ? 'build' : 'unknown' };
  const who = anonymous
    ? [`User: unknown: ${anonymousAdvice(anonymous)}`, 'Role: not an admin while anonymous']
    : [
        `User: ${escapeHtml(name)}`,
        `Id: <code>${from.id}</code>`,
        `Role: ${ctx.isAdmin ? 'admin' : 'not an admin'}`,
      ];
  await ctx.reply(
    [
      ...who,
      `Environment: ${config.appEnv} (@${escapeHtml(ctx.me.username)})`,
      `Version: ${versionText(version, config.appEnv)}`,
    ].join('\n'),
  );
});

export const whoamiFeature: Feature = {
  commands: [
    {
      command: 'whoami',
      description: 'Your id, your role, this environment and its version',
      access: 'everyone',
    },
  ],
  composer,
};
