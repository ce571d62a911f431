import { describe, expect, it } from 'vitest';
import { renderTimeline, type StepTiming, withTimeline } from '../../../src/bot/deploys/timeline.js';
import { plainLength, TEXT_BUDGET } from '../../../src/bot/telegram-limits.js';

const t0 = Date.parse('2026-11-30T12:00:00Z');
const step = (name: string, fromS: number, toS: number | null, status = 'succeeded'): StepTiming => ({
  step: name,
  status,
  startedAt: new Date(t0 + fromS * 1000),
  finishedAt: toS === null ? null : new Date(t0 + toS * 1000),
});

describe('the deploy timeline', () => {
  it('a line per step: a bar scaled to the longest step and its duration; skipped and failed said as such', () => {
    const text = renderTimeline([
      step('resolve', 0, 0.4),
      step('build', 0.4, 80.4),
      step('backup', 80.4, 80.4, 'skipped'),
      step('migrate', 80.4, 84.4),
      step('health', 84.4, 124.4, 'failed'),
    ]);
    expect(text).toBe(
      [
        '<pre>resolve ▏          0.4 s',
        'build   ██████████ 1 min 20 s',
        'backup  ·          skipped',
        'migrate ▌          4.0 s',
        'health  █████      40 s ❌</pre>',
      ].join('\n'),
    );
  });

  it('a step still running has no bar yet; no steps, no timeline', () => {
    expect(renderTimeline([step('build', 0, 10), step('start', 10, null, 'running')])).toContain(
      'start            … ⏳',
    );
    expect(renderTimeline([])).toBe('');
  });

  it('goes after the head, before the log tail; the tail gives up its oldest lines to fit one message', () => {
    const timeline = renderTimeline([step('build', 0, 10, 'failed')]);
    const short = withTimeline(
      '❌ <b>Deploy #3</b> failed at build: boom\n<pre>line 1\nline 2</pre>',
      timeline,
    );
    expect(short).toBe(`❌ <b>Deploy #3</b> failed at build: boom\n${timeline}\n<pre>line 1\nline 2</pre>`);
    expect(withTimeline('✅ <b>Deploy #4</b> done.', timeline)).toBe(
      `✅ <b>Deploy #4</b> done.\n${timeline}`,
    );

    const tail = Array.from({ length: 80 }, (_, i) => `log line ${i} ${'x'.repeat(40)}`);
    const long = withTimeline(`❌ failed\n<pre>${tail.join('\n')}</pre>`, timeline);
    expect(plainLength(long)).toBeLessThanOrEqual(TEXT_BUDGET);
    expect(long).toContain(timeline);
    expect(long).toContain(`${tail.at(-1)}</pre>`);
    expect(long).not.toContain('log line 0 ');
  });
});
