import type { AppEnv } from '../../config/environments.js';
import type { DeployControl } from '../../deploys/deploy-control.js';
import type { BotContext } from '../context.js';
import { escapeHtml } from '../html.js';
import { parseEnv } from './parse-words.js';

/**
 * The environment a deploy command names (or this instance's, when `optional` and none is
 * named), or undefined after telling the user what to send instead. Each bot answers for
 * its own environment: the other one's database and Docker lock are not its to touch.
 */
export async function envArgument(
  ctx: BotContext,
  command: string,
  word: string | undefined,
  options: { optional?: boolean } = {},
): Promise<{ control: DeployControl; env: AppEnv } | undefined> {
  const control = ctx.deps.deploys;
  if (!control) {
    await ctx.reply(
      `/${command} needs the deploy engine, which this instance runs without (no Docker engine).`,
    );
    return undefined;
  }
  const env = word === undefined && options.optional ? control.env : parseEnv(word);
  if (!env) {
    await ctx.reply(
      `Say which environment: <code>/${command} ${control.env}</code>${word ? ` (“${escapeHtml(word.slice(0, 20))}” is neither staging nor production)` : ''}.`,
    );
    return undefined;
  }
  if (env !== control.env) {
    await ctx.reply(
      `This is the ${control.env} bot. ${env === 'production' ? 'Production' : 'Staging'} is run by the ${env} bot: send <code>/${command} ${env}</code> to it${env === 'production' && command === 'deploy' ? ', or /promote here to ship develop to production' : ''}.`,
    );
    return undefined;
  }
  return { control, env };
}

/** The words after the command. */
export function argsOf(ctx: BotContext): string[] {
  return String(ctx.match ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}
