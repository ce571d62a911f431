import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { branchOf, isValidRef } from '../deploys/parse-words.js';
import { deployPrompt, lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

/**
 * /deploy <env> [ref]: staging is queued at once; production first asks its requester to
 * confirm (the buttons carry the deployment's id, which is checked against who asked,
 * its state and its expiry in Postgres).
 */
composer.command('deploy', requireAdmin('/deploy'), async (ctx) => {
  const [envWord, ref, ...rest] = argsOf(ctx);
  const target = await envArgument(ctx, 'deploy', envWord);
  if (!target) return;
  const { control, env } = target;
  const wanted = ref ?? branchOf(env);
  if (rest.length > 0 || !isValidRef(wanted)) {
    await ctx.reply(
      `“${escapeHtml(wanted.slice(0, 60))}” is not a branch or commit name. Send <code>/deploy ${env}</code> for ${branchOf(env)}, or <code>/deploy ${env} &lt;branch or SHA&gt;</code>.`,
    );
    return;
  }
  const requested = await control.request({
    ref: wanted,
    trigger: 'manual',
    requester: { id: ctx.from!.id, name: actorName(ctx) },
    chatId: ctx.chat?.id,
    action: '/deploy',
    confirm: env === 'production',
  });
  if (requested.outcome === 'locked') {
    await ctx.reply(lockedMessage(env, requested.lock));
    return;
  }
  const { deployment } = requested;
  if (requested.outcome === 'awaiting_confirmation') {
    await ctx.reply(
      deployPrompt(wanted, {
        backup: ctx.deps.config.deploy.backup,
        verifyMs: ctx.deps.config.deploy.verifyMs,
        confirmMs: control.confirmMs,
      }),
      {
        reply_markup: new InlineKeyboard()
          .text('Deploy', `deploy:yes:${deployment.id}`)
          .text('Cancel', `deploy:no:${deployment.id}`),
      },
    );
    return;
  }
  await ctx.reply(
    `Deploy #${deployment.id} of <code>${escapeHtml(wanted)}</code> to ${env} is queued; progress follows here.`,
  );
});

composer.callbackQuery(/^deploy:(yes|no):(\d{1,12})$/, requireAdmin('deploy button'), async (ctx) => {
  const control = ctx.deps.deploys;
  if (!control)
    return ctx.answerCallbackQuery({ text: 'This instance has no deploy engine.', show_alert: true });
  const id = Number(ctx.match[2]);
  const answer = ctx.match[1] === 'yes' ? 'confirm' : 'decline';
  const result = await control.deployments.answerConfirmation(id, ctx.from.id, answer);
  await ctx.deps.audit.record({
    actorId: ctx.from.id,
    actorName: actorName(ctx),
    action: `deploy ${answer}`,
    outcome: result === 'ok' ? 'ok' : 'refused',
    details: { deploymentId: id, result },
  });
  const refusal: Record<string, string> = {
    not_yours: 'Only the admin who asked for this deploy can answer it.',
    expired: 'This confirmation expired. Send /deploy again.',
    answered: 'This deploy was answered already.',
    missing: 'This deploy does not exist.',
  };
  if (result !== 'ok') {
    await ctx.answerCallbackQuery({ text: refusal[result], show_alert: true });
    if (result === 'expired')
      await ctx.editMessageText('⌛ This confirmation expired; nothing was deployed.');
    return;
  }
  if (answer === 'decline') {
    await ctx.answerCallbackQuery({ text: 'Cancelled' });
    await ctx.editMessageText(`🚫 Deploy #${id} cancelled; nothing was deployed.`);
    return;
  }
  await control.enqueue(id);
  await ctx.answerCallbackQuery({ text: 'Queued' });
  await ctx.editMessageText(`Deploy #${id} to production is queued; progress follows here.`);
});

export const deployFeature: Feature = {
  commands: [
    { command: 'deploy', description: 'Deploy a branch or commit: /deploy <env> [ref]', access: 'admin' },
  ],
  composer,
};
