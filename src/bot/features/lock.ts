import { Composer } from 'grammy';
import { deployLockName, deploymentOfOwner } from '../../store/locks.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { parseDuration } from '../deploys/parse-words.js';
import { lockHolderText, lockTakenMessage, shortShas } from '../deploys/render.js';
import { actorName, requireAdmin } from '../guards/is-admin.js';
import { escapeHtml, formatUtc } from '../html.js';

const DEFAULT_LOCK_MS = 60 * 60_000;
const composer = new Composer<BotContext>();

/** /lock <env> <reason> [duration]: no deploy of env (by hand, push or promotion) until it expires. */
composer.command('lock', requireAdmin('/lock'), async (ctx) => {
  const [envWord, ...words] = argsOf(ctx);
  const target = await envArgument(ctx, 'lock', envWord);
  if (!target) return;
  const { control, env } = target;
  const last = words.at(-1);
  const duration = words.length > 1 ? parseDuration(last) : undefined;
  const reason = (duration ? words.slice(0, -1) : words).join(' ').slice(0, 200);
  if (!reason) {
    await ctx.reply(
      `Say why: <code>/lock ${env} &lt;reason&gt; [duration]</code>, e.g. <code>/lock ${env} database maintenance 2h</code> (duration in m, h or d; 1 h by default, 7 d at most).`,
    );
    return;
  }
  const owner = `${actorName(ctx) ?? 'user'} (${ctx.from!.id})`;
  const taken = await control.locks.acquire({
    name: deployLockName(env),
    owner,
    reason,
    ttlMs: duration ?? DEFAULT_LOCK_MS,
  });
  await ctx.deps.audit.record({
    actorId: ctx.from!.id,
    actorName: actorName(ctx),
    action: '/lock',
    outcome: taken.acquired ? 'ok' : 'refused',
    details: { env, reason, ms: duration ?? DEFAULT_LOCK_MS },
  });
  if (!taken.acquired) {
    const h = taken.holder;
    const id = deploymentOfOwner(h.owner);
    await ctx.reply(
      lockTakenMessage(env, h, id === undefined ? undefined : await control.deployments.get(id)),
    );
    return;
  }
  await ctx.reply(
    `🔒 ${env} is locked until ${formatUtc(taken.lock.expiresAt)}: “${escapeHtml(reason)}”. Deploys of ${env} are refused until then or /unlock ${env}.`,
  );
});

composer.command('unlock', requireAdmin('/unlock'), async (ctx) => {
  const [envWord] = argsOf(ctx);
  const target = await envArgument(ctx, 'unlock', envWord);
  if (!target) return;
  const { control, env } = target;
  const name = deployLockName(env);
  const held = await control.locks.held(name);
  const deploymentId = held ? deploymentOfOwner(held.owner) : undefined;
  if (deploymentId !== undefined) {
    const d = await control.deployments.get(deploymentId);
    if (d?.status === 'running') {
      await ctx.reply(
        `Deploy #${deploymentId} holds the ${env} lock while it runs; it is released when the deploy ends.`,
      );
      return;
    }
  }
  if (!held) {
    await ctx.reply(`${env} was not locked.`);
    return;
  }
  const removed = await control.locks.breakLock(held);
  await ctx.deps.audit.record({
    actorId: ctx.from!.id,
    actorName: actorName(ctx),
    action: '/unlock',
    outcome: removed ? 'ok' : 'refused',
    details: { env, was: { owner: held.owner, reason: held.reason }, ...(removed ? {} : { changed: true }) },
  });
  if (!removed) {
    const now = await control.locks.held(name);
    const nowId = now ? deploymentOfOwner(now.owner) : undefined;
    const nowHolder = nowId === undefined ? undefined : await control.deployments.get(nowId);
    await ctx.reply(
      `The ${env} lock changed while you asked${now ? `: it is now held by ${lockHolderText(now, nowHolder)} (“${escapeHtml(shortShas(now.reason))}”)` : ''}. Nothing was unlocked; send /unlock ${env} again if it should go.`,
    );
    return;
  }
  const holder = deploymentId === undefined ? undefined : await control.deployments.get(deploymentId);
  await ctx.reply(
    `🔓 ${env} is unlocked (it was locked by ${lockHolderText(held, holder)}: “${escapeHtml(shortShas(held.reason))}”).`,
  );
});

export const lockFeature: Feature = {
  commands: [
    { command: 'lock', description: 'Block deploys: /lock <env> <reason> [duration]', access: 'admin' },
    { command: 'unlock', description: 'Allow deploys again: /unlock <env>', access: 'admin' },
  ],
  composer,
};
