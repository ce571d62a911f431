import { Composer, InputFile } from 'grammy';
import { withDeadline } from '../../deadline.js';
import type { DeployControl, SetMember } from '../../deploys/deploy-control.js';
import type { BotContext, Feature } from '../context.js';
import { argsOf, envArgument } from '../deploys/env-argument.js';
import { parseEnv } from '../deploys/parse-words.js';
import { chooseMember, runsSet, setText } from '../deploys/set-members.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

const composer = new Composer<BotContext>();

const MAX_LINES = 1000;
const INLINE_CHARS = 3500;
/** How long /logs waits for Docker's list of the set's containers. */
const SET_LIST_MS = 5_000;
const isCount = (word: string | undefined) => word !== undefined && /^\d+$/.test(word);

/**
 * /logs [env] [service [replica]] [lines]: the app container's last lines, or those of a
 * service of the environment's set (lugh.yml), secrets redacted; a file when long. The
 * environment may be left out before a service (`/logs worker`, `/logs app 2`).
 */
composer.command('logs', requireAdmin('/logs'), async (ctx) => {
  const words = argsOf(ctx);
  // `/logs worker`: a service first speaks of this bot's own environment.
  const serviceFirst = words[0] !== undefined && !parseEnv(words[0]) && !isCount(words[0]);
  const target = await envArgument(ctx, 'logs', serviceFirst ? undefined : words[0], {
    optional: serviceFirst,
  });
  if (!target) return;
  const rest = serviceFirst ? words : words.slice(1);
  const service = rest[0] !== undefined && !isCount(rest[0]) ? rest.shift() : undefined;
  const replicaWord = service !== undefined && isCount(rest[0]) ? rest.shift() : undefined;
  const [linesWord, ...extra] = rest;
  const lines = linesWord === undefined ? 50 : Number(linesWord);
  if (extra.length > 0 || !Number.isInteger(lines) || lines < 1 || lines > MAX_LINES) {
    await ctx.reply(
      `Send <code>/logs ${target.env} [service [replica]] [lines]</code> with 1–${MAX_LINES} lines (50 by default).`,
    );
    return;
  }
  if (service === undefined) {
    await replyLogs(ctx, target.control, lines);
    return;
  }
  const member = await memberFor(ctx, target.control, service, replicaWord ? Number(replicaWord) : undefined);
  if (member) await replyLogs(ctx, target.control, lines, member);
});

/** The container of a service named in /logs, or undefined after saying which there are. */
async function memberFor(
  ctx: BotContext,
  control: DeployControl,
  service: string,
  replica: number | undefined,
): Promise<SetMember | undefined> {
  let members: readonly SetMember[];
  try {
    const listed = control.serviceContainers?.();
    members = listed ? await withDeadline(listed, SET_LIST_MS, 'Docker did not list them in time') : [];
  } catch (error) {
    await ctx.reply(
      `Could not list the services of ${control.env}: ${escapeHtml(ctx.deps.redact((error as Error).message))}`,
    );
    return undefined;
  }
  // One service: its only container is the app container.
  const all = members.length ? members : [{ service: 'app', replica: 1, name: '' }];
  const choice = chooseMember(all, service, replica);
  if (choice.ok) return choice.member;
  const name = escapeHtml(service.slice(0, 30));
  if (choice.why === 'replica') {
    await ctx.reply(
      `${name} runs ${choice.replicas} ${choice.replicas === 1 ? 'replica' : 'replicas'} in ${control.env}: send <code>/logs ${control.env} ${name} [1–${choice.replicas}] [lines]</code>.`,
    );
    return undefined;
  }
  await ctx.reply(
    runsSet(all)
      ? `${control.env} has no service ${name}. Its services: ${setText(all)}; send <code>/logs ${control.env} &lt;service&gt; [replica] [lines]</code>.`
      : `“${name}” is neither an environment nor a service of ${control.env}, which runs one service, app (no lugh.yml): send <code>/logs ${control.env} [lines]</code>.`,
  );
  return undefined;
}

/** A container's last lines, redacted: inline when short, a file when long. The app container's by default. */
export async function replyLogs(
  ctx: BotContext,
  control: DeployControl,
  lines: number,
  member?: SetMember,
): Promise<void> {
  // A service's container is named; the app's own (`member.name` empty) is the engine's default.
  const container = member?.name || undefined;
  const what =
    member && container
      ? `${control.env} ${member.service}${member.replica > 1 ? ` ${member.replica}` : ''}`
      : control.env;
  let output: string[];
  try {
    output = await control.containerLogs(lines, container);
  } catch (error) {
    await ctx.reply(
      `Could not read the logs of ${escapeHtml(what)}: ${escapeHtml(ctx.deps.redact((error as Error).message))}`,
    );
    return;
  }
  const text = ctx.deps.redact(output.join('\n'));
  if (!text.trim()) {
    await ctx.reply(`The ${escapeHtml(what)} container printed nothing yet.`);
    return;
  }
  if (text.length <= INLINE_CHARS) {
    await ctx.reply(
      `<b>Last ${output.length} lines of ${escapeHtml(what)}</b>${container ? ` (<code>${escapeHtml(container)}</code>)` : ''}\n<pre>${escapeHtml(text)}</pre>`,
    );
    return;
  }
  await ctx.replyWithDocument(
    new InputFile(Buffer.from(`${text}\n`, 'utf8'), `${what.replace(/ /g, '-')}-logs.txt`),
    { caption: `Last ${output.length} lines of ${what} (secrets redacted)` },
  );
}

export const logsFeature: Feature = {
  commands: [
    {
      command: 'logs',
      description: 'Tail of a container: /logs <env> [service [replica]] [lines]',
      access: 'admin',
    },
  ],
  composer,
};
