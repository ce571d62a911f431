// The deploy result's step timeline: how long each step took, as bars scaled to the
// longest, in one monospace block. Kept apart from render.ts so the two change apart.
import { escapeHtml, formatDuration } from '../html.js';
import { plainLength, TEXT_BUDGET } from '../telegram-limits.js';

/** A step's times as the store keeps them. */
export interface StepTiming {
  readonly step: string;
  readonly status: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

const WIDTH = 10;
/** Eighths of a block, so short steps still show a sliver. */
const PARTS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const MARK: Record<string, string> = { succeeded: '', failed: ' ❌', running: ' ⏳' };

/** `██▍` for `ms` out of `longest`, in WIDTH blocks; at least a sliver for any time spent. */
function bar(ms: number, longest: number): string {
  const eighths = longest > 0 ? Math.round((ms / longest) * WIDTH * 8) : 0;
  const text = '█'.repeat(Math.floor(eighths / 8)) + PARTS[eighths % 8]!;
  return (text || (ms > 0 ? '▏' : '')).padEnd(WIDTH, ' ');
}

/** A step's duration: `0.4 s` below ten seconds, then as formatDuration says it. */
function duration(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms);
}

/**
 * The timeline of a deployment's steps, one line each (`build    ██████▍    1 min 12 s`),
 * skipped steps said as such, a failed one marked; empty when no step has run.
 */
export function renderTimeline(steps: readonly StepTiming[]): string {
  if (steps.length === 0) return '';
  const spent = (s: StepTiming) => (s.finishedAt ? s.finishedAt.getTime() - s.startedAt.getTime() : 0);
  const longest = Math.max(...steps.filter((s) => s.status !== 'skipped').map(spent), 0);
  const name = Math.max(...steps.map((s) => s.step.length));
  const lines = steps.map((s) => {
    const label = s.step.padEnd(name, ' ');
    if (s.status === 'skipped') return `${label} ${'·'.padEnd(WIDTH, ' ')} skipped`;
    if (!s.finishedAt) return `${label} ${' '.repeat(WIDTH)} …${MARK[s.status] ?? ''}`;
    return `${label} ${bar(spent(s), longest)} ${duration(spent(s))}${MARK[s.status] ?? ''}`;
  });
  return `<pre>${escapeHtml(lines.join('\n'))}</pre>`;
}

/**
 * The outcome message with its timeline: after the head and image lines, before the log
 * tail; the tail loses its oldest lines when both would not fit one Telegram message.
 */
export function withTimeline(outcome: string, timeline: string): string {
  if (!timeline) return outcome;
  const at = outcome.indexOf('\n<pre>');
  const [before, tail] = at >= 0 ? [outcome.slice(0, at), outcome.slice(at)] : [outcome, ''];
  const lines = tail ? tail.slice('\n<pre>'.length, -'</pre>'.length).split('\n') : [];
  const compose = () => `${before}\n${timeline}${lines.length ? `\n<pre>${lines.join('\n')}</pre>` : ''}`;
  // Both do not fit: the tail's oldest lines go first.
  while (lines.length && plainLength(compose()) > TEXT_BUDGET) lines.shift();
  return compose();
}
