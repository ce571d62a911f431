import { Composer } from 'grammy';
import type { AuditReport } from '../../doctor/audit.js';
import type { BotContext, Feature } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

/** Evidence longer than this is cut in chat (Telegram: 4096 characters a message). */
const EVIDENCE_CHARS = 280;

const cut = (text: string) => (text.length > EVIDENCE_CHARS ? `${text.slice(0, EVIDENCE_CHARS - 1)}…` : text);

/** Room left under Telegram's 4096 characters for the staging marker and entities. */
const MESSAGE_CHARS = 3_900;

/**
 * The audit as chat messages: a heading, then per check a line, its evidence and the fix
 * of a failure; split between checks when it would not fit one message.
 */
export function renderAudit(report: AuditReport): string[] {
  const passed = report.checks.length - report.failed;
  const heading = `🩺 <b>Isolation audit</b> of ${escapeHtml(report.staging.containerName)} and ${escapeHtml(report.production.containerName)}: ${
    report.failed ? `❌ ${report.failed} failed, ${passed} passed` : `✅ all ${passed} passed`
  }`;
  const messages: string[] = [];
  let current = heading;
  for (const c of report.checks) {
    const block = [
      `${c.ok ? '✅' : '❌'} <b>${escapeHtml(c.title)}</b>`,
      `<i>${escapeHtml(cut(c.evidence))}</i>`,
    ];
    if (c.fix) block.push(`Fix: ${escapeHtml(c.fix)}`);
    const text = block.join('\n');
    if (current.length + 2 + text.length > MESSAGE_CHARS) {
      messages.push(current);
      current = text;
    } else current += `\n\n${text}`;
  }
  messages.push(current);
  return messages;
}

const composer = new Composer<BotContext>();

/** /doctor: the isolation audit of both environments, as `lugh doctor` runs it on the host. */
composer.command('doctor', requireAdmin('/doctor'), async (ctx) => {
  const doctor = ctx.deps.doctor;
  if (!doctor) {
    await ctx.reply(
      '/doctor is not available on this instance. Run <code>lugh doctor</code> on the Docker host.',
    );
    return;
  }
  await ctx.replyWithChatAction('typing').catch(() => {});
  for (const message of renderAudit(await doctor.run())) await ctx.reply(message);
});

export const doctorFeature: Feature = {
  commands: [{ command: 'doctor', description: 'Isolation audit of both environments', access: 'admin' }],
  composer,
};
