import { Composer, InlineKeyboard } from 'grammy';
import { type Deployment, inProgress } from '../../store/deployments.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatAgo, shortSha } from '../html.js';

const RELEASES_SHOWN = 5;
const composer = new Composer<BotContext>();

/**
 * /rollback <env>: the last releases that ran (newest first, the running one marked), one
 * tap each. The tap deploys that commit again through every step; its image is usually
 * still there (cleanup keeps the last ones), so it is not rebuilt.
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
  for (const r of older.slice(0, RELEASES_SHOWN)) {
    keyboard.text(`${shortSha(r.sha)} · ${formatAgo(r.deployedAt)}`, `rollback:${r.id}`).row();
  }
  await ctx.reply(
    `Roll ${env} back to which release? It runs <code>${shortSha(current.sha)}</code> (deployed ${formatAgo(current.deployedAt)}). One tap deploys the release again.`,
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

composer.callbackQuery(/^rollback:(\d{1,12})$/, requireAdmin('rollback button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  const source = await control.deployments.get(Number(ctx.match[1]));
  if (!source || source.env !== control.env || source.status !== 'succeeded' || !source.sha) {
    await ctx.answerCallbackQuery({ text: 'This release cannot be deployed again.', show_alert: true });
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
  const { deployment } = requested;
  await ctx.answerCallbackQuery({ text: 'Rolling back' });
  await ctx.editMessageText(
    `↩️ Rolling ${control.env} back to <code>${escapeHtml(shortSha(source.sha))}</code>: deploy #${deployment.id} is queued; progress follows here.`,
  );
});

export const rollbackFeature: Feature = {
  commands: [
    { command: 'rollback', description: 'Deploy an earlier release again: /rollback <env>', access: 'admin' },
  ],
  composer,
};
