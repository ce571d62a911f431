import { Composer } from 'grammy';
import type { AuditReport } from '../../doctor/audit.js';
import type { BotContext, Feature } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

/** Evidence longer than this is cut in chat (Telegram: 4096 characters a message). */
const EVIDENCE_CHARS = 280;

const cut = (text: string) => (text.length > EVIDENCE_CHARS ? `${text.slice(0, EVIDENCE_CHARS - 1)}…` : text);

/** The audit as one chat message: a line per check, its evidence, and the fix of a failure. */
export function renderAudit(report: AuditReport): string {
  const passed = report.checks.length - report.failed;
  const lines = [
    `🩺 <b>Isolation audit</b> of ${escapeHtml(report.staging.containerName)} and ${escapeHtml(report.production.containerName)}: ${
      report.failed ? `❌ ${report.failed} failed, ${passed} passed` : `✅ all ${passed} passed`
    }`,
  ];
  for (const c of report.checks) {
    lines.push(
      '',
      `${c.ok ? '✅' : '❌'} <b>${escapeHtml(c.title)}</b>`,
      `<i>${escapeHtml(cut(c.evidence))}</i>`,
    );
    if (c.fix) lines.push(`Fix: ${escapeHtml(c.fix)}`);
  }
  return lines.join('\n');
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
  await ctx.reply(renderAudit(await doctor.run()));
});

export const doctorFeature: Feature = {
  commands: [{ command: 'doctor', description: 'Isolation audit of both environments', access: 'admin' }],
  composer,
};
