import { Composer } from 'grammy';
import type { DeployControl } from '../../deploys/deploy-control.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { renderHistory } from '../deploys/render.js';
import { requireAdmin } from '../guards/is-admin.js';

const composer = new Composer<BotContext>();

/** The last 10 deployments of this instance's environment, as a reply. */
export async function replyHistory(ctx: BotContext, control: DeployControl): Promise<void> {
  await ctx.reply(
    renderHistory(control.env, await control.deployments.recent(control.env, 10, { unconfirmed: true })),
  );
}

composer.command('history', requireAdmin('/history'), async (ctx) => {
  const [envWord] = argsOf(ctx);
  const target = await envArgument(ctx, 'history', envWord, { optional: true });
  if (!target) return;
  await replyHistory(ctx, target.control);
});

export const historyFeature: Feature = {
  commands: [{ command: 'history', description: 'Last deployments: /history [env]', access: 'admin' }],
  composer,
};
