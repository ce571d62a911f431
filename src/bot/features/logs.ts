import { Composer, InputFile } from 'grammy';
import type { DeployControl } from '../../deploys/deploy-control.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

const MAX_LINES = 1000;
const INLINE_CHARS = 3500;

/** /logs <env> [lines]: the running container's last lines, secrets redacted; a file when long. */
composer.command('logs', requireAdmin('/logs'), async (ctx) => {
  const [envWord, linesWord, ...rest] = argsOf(ctx);
  const target = await envArgument(ctx, 'logs', envWord);
  if (!target) return;
  const lines = linesWord === undefined ? 50 : Number(linesWord);
  if (rest.length > 0 || !Number.isInteger(lines) || lines < 1 || lines > MAX_LINES) {
    await ctx.reply(
      `Send <code>/logs ${target.env} [lines]</code> with 1–${MAX_LINES} lines (50 by default).`,
    );
    return;
  }
  await replyLogs(ctx, target.control, lines);
});

/** The running container's last lines, redacted: inline when short, a file when long. */
export async function replyLogs(ctx: BotContext, control: DeployControl, lines: number): Promise<void> {
  let output: string[];
  try {
    output = await control.containerLogs(lines);
  } catch (error) {
    await ctx.reply(
      `Could not read the logs of ${control.env}: ${escapeHtml(ctx.deps.redact((error as Error).message))}`,
    );
    return;
  }
  const text = ctx.deps.redact(output.join('\n'));
  if (!text.trim()) {
    await ctx.reply(`The ${control.env} container printed nothing yet.`);
    return;
  }
  if (text.length <= INLINE_CHARS) {
    await ctx.reply(`<b>Last ${output.length} lines of ${control.env}</b>\n<pre>${escapeHtml(text)}</pre>`);
    return;
  }
  await ctx.replyWithDocument(new InputFile(Buffer.from(`${text}\n`, 'utf8'), `${control.env}-logs.txt`), {
    caption: `Last ${output.length} lines of ${control.env} (secrets redacted)`,
  });
}

export const logsFeature: Feature = {
  commands: [
    { command: 'logs', description: 'Tail of the running container: /logs <env> [lines]', access: 'admin' },
  ],
  composer,
};
