import { Composer } from 'grammy';
import type { AuditReport } from '../../doctor/audit.js';
import type { ForgeSetupReport } from '../../forge/setup-check.js';
import type { BotContext, Feature } from '../context.js';
import { requireAdmin } from '../guards/is-admin.js';
import { escapeHtml } from '../html.js';

/** Evidence longer than this is cut in chat (Telegram: 4096 characters a message). */
const EVIDENCE_CHARS = 280;

const cut = (text: string) => (text.length > EVIDENCE_CHARS ? `${text.slice(0, EVIDENCE_CHARS - 1)}…` : text);

/** Room left under Telegram's 4096 characters for the staging marker and entities. */
const MESSAGE_CHARS = 3_900;

interface Block {
  readonly mark: string;
  readonly title: string;
  readonly evidence: string;
  /** Why this failure is expected where the audit ran (the sandbox). */
  readonly expected?: string;
  readonly fix?: string;
}

/** A heading, then per check a line, its evidence and its fix; split between checks to fit. */
function renderBlocks(heading: string, blocks: readonly Block[]): string[] {
  const messages: string[] = [];
  let current = heading;
  for (const b of blocks) {
    const lines = [`${b.mark} <b>${escapeHtml(b.title)}</b>`, `<i>${escapeHtml(cut(b.evidence))}</i>`];
    if (b.expected) lines.push(`Expected in the sandbox: ${escapeHtml(b.expected)}`);
    if (b.fix) lines.push(`Fix: ${escapeHtml(b.fix)}`);
    const text = lines.join('\n');
    if (current.length + 2 + text.length > MESSAGE_CHARS) {
      messages.push(current);
      current = text;
    } else current += `\n\n${text}`;
  }
  messages.push(current);
  return messages;
}

/**
 * The audit as chat messages: a heading, then per check a line, its evidence and the fix
 * of a failure; split between checks when it would not fit one message.
 */
export function renderAudit(report: AuditReport): string[] {
  const skippedCount = report.skipped ?? 0;
  const passed = report.checks.length - report.failed - skippedCount;
  const skippedText = skippedCount ? `, ${skippedCount} skipped` : '';
  const expected = report.checks.filter((c) => c.expected).length;
  const why =
    expected === 0
      ? ''
      : expected === report.failed
        ? ' (all expected in the sandbox)'
        : ` (${expected} expected in the sandbox)`;
  const what = report.runtime === 'swarm' ? 'the Swarm services ' : '';
  const heading = `🩺 <b>Isolation audit</b> of ${what}${escapeHtml(report.staging.containerName)} and ${escapeHtml(report.production.containerName)}: ${
    report.failed
      ? `❌ ${report.failed} failed${why}, ${passed} passed${skippedText}`
      : `✅ ${skippedCount ? '' : 'all '}${passed} passed${skippedText}`
  }`;
  return renderBlocks(
    heading,
    report.checks.map((c) => ({
      mark: c.skipped ? '⏭️' : c.ok ? '✅' : '❌',
      title: c.skipped ? `${c.title} (skipped)` : c.title,
      evidence: c.evidence,
      expected: c.expected,
      fix: c.fix,
    })),
  );
}

const LEVEL_MARK = { ok: '✅', warn: '⚠️', fail: '❌' } as const;

/** `lugh github check`'s report as chat messages, laid out like the audit. */
export function renderGitHubSetup(report: ForgeSetupReport): string[] {
  const passed = report.findings.length - report.failed - report.warned;
  const counts = [
    report.failed ? `❌ ${report.failed} failed` : undefined,
    report.warned ? `⚠️ ${report.warned} to look at` : undefined,
    `${report.failed || report.warned ? '' : '✅ all '}${passed} passed`,
  ].filter(Boolean);
  return renderBlocks(
    `🐙 <b>GitHub set-up</b> of ${escapeHtml(report.repo)}: ${counts.join(', ')}`,
    report.findings.map((f) => ({
      mark: LEVEL_MARK[f.level],
      title: f.title,
      evidence: f.evidence,
      fix: f.fix,
    })),
  );
}

const composer = new Composer<BotContext>();

/**
 * /doctor: the isolation audit of both environments, as `lugh doctor` runs it on the host,
 * then what `lugh github check` reports about lugh's set-up on GitHub.
 */
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
  // The same report as `lugh github check`, when this instance talks to GitHub.
  if (!doctor.github) return;
  let github: string[];
  try {
    github = renderGitHubSetup(await doctor.github());
  } catch (error) {
    ctx.deps.logger.warn({ err: error }, '/doctor: the GitHub check failed');
    github = [
      `🐙 <b>GitHub set-up</b>: ❔ could not be checked (${escapeHtml(error instanceof Error ? error.message : String(error))}). Run <code>lugh github check</code> on the host.`,
    ];
  }
  for (const message of github) await ctx.reply(message);
});

export const doctorFeature: Feature = {
  commands: [{ command: 'doctor', description: 'Isolation audit of both environments', access: 'admin' }],
  composer,
};
