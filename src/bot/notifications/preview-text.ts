import type { FailedPreview } from '../../notifications/preview-notices.js';
import { withoutUrlPasswords } from '../../redact.js';
import { escapeHtml, shortSha } from '../html.js';
import { clip } from '../telegram-limits.js';

const MAX_REASON = 300;
/** Room for the last lines: the notice stays far under Telegram's 4096 after the marker. */
const MAX_TAIL_CHARS = 2_000;
const TAIL_LINES = 15;

/**
 * `❌ Preview of #7 (abc1234) failed to start: <reason>` and its last lines in a <pre>
 * block; what serves meanwhile when the previous container runs on. Everything from
 * outside lugh (the reason, the lines) is redacted and escaped.
 */
export function renderPreviewFailed(
  p: FailedPreview,
  reason: string,
  logTail: readonly string[],
  redact: (text: string) => string,
): string {
  const why = escapeHtml(
    clip(
      withoutUrlPasswords(redact(reason))
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/[.;:]+$/, ''),
      MAX_REASON,
    ),
  );
  const serving = p.runningSha
    ? ` <code>${shortSha(p.runningSha)}</code> serves on${p.url ? ` at ${escapeHtml(p.url)}` : ''}.`
    : '';
  const head = `❌ Preview of #${p.pr} (<code>${shortSha(p.headSha)}</code>) failed to start: ${why}.${serving} /previews to redeploy or tear it down.`;
  const tail = withoutUrlPasswords(redact(logTail.slice(-TAIL_LINES).join('\n'))).trimEnd();
  if (!tail.trim()) return head;
  const kept = tail.length > MAX_TAIL_CHARS ? `…${tail.slice(tail.length - MAX_TAIL_CHARS + 1)}` : tail;
  return `${head}\n<b>Its last lines</b>\n<pre>${escapeHtml(kept)}</pre>`;
}
