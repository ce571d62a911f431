import { Composer, InlineKeyboard } from 'grammy';
import type { AppEnv } from '../../config/environments.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { branchOf, isValidRef } from '../deploys/parse-words.js';
import { deployPrompt, lockedMessage } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatUtc } from '../html.js';

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
  if (requested.outcome === 'unknown_commit') {
    await ctx.reply(unknownCommitText(env, wanted));
    return;
  }
  if (requested.outcome === 'forge_failed') {
    const why = {
      unavailable: 'it did not answer',
      rate_limited: `it rate-limits lugh${requested.resetAt ? ` until ${formatUtc(requested.resetAt)}` : ''}`,
      access_denied: 'it refused lugh’s token (the token needs Contents: read)',
    }[requested.why];
    await ctx.reply(
      `Could not ask GitHub which commit <code>${escapeHtml(wanted)}</code> is: ${why}. Nothing was queued; try again shortly, or send a branch name.`,
    );
    return;
  }
  const { deployment } = requested;
  // A SHA is shown as the commit it resolved to; a branch as the branch (resolved when the deploy runs).
  const what =
    deployment.sha && deployment.ref !== deployment.sha
      ? `${escapeHtml(wanted)}</code> (commit <code>${deployment.sha}</code>)`
      : `${escapeHtml(wanted)}</code>`;
  if (requested.outcome === 'awaiting_confirmation') {
    await ctx.reply(
      deployPrompt(
        deployment.sha && deployment.ref !== deployment.sha ? `${wanted} (commit ${deployment.sha})` : wanted,
        {
          backup: ctx.deps.config.deploy.backup,
          verifyMs: ctx.deps.config.deploy.verifyMs,
          confirmMs: control.confirmMs,
        },
      ),
      {
        reply_markup: new InlineKeyboard()
          .text('Deploy', `deploy:yes:${deployment.id}`)
          .text('Cancel', `deploy:no:${deployment.id}`),
      },
    );
    return;
  }
  await ctx.reply(`Deploy #${deployment.id} of <code>${what} to ${env} is queued; progress follows here.`);
});

/** The refusal of a SHA GitHub cannot resolve to one commit, with what to send instead. */
export function unknownCommitText(env: AppEnv, ref: string): string {
  const short = ref.length < 40 ? ', or too short to name one commit' : '';
  return `GitHub knows no branch or single commit <code>${escapeHtml(ref)}</code> in this repository (unknown${short}). Send more of the SHA (all 40 characters always work), a branch name, or <code>/deploy ${env}</code> for ${branchOf(env)}. Nothing was queued.`;
}

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
    busy: 'A deploy of this release is already under way; nothing new was queued.',
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
