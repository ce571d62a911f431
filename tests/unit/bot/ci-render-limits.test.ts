// The CI messages measured as Telegram measures them: the stand-in's own HTML parser gives
// the text Telegram would keep, which must stay within 4096 characters.
import { describe, expect, it } from 'vitest';
import { renderOutcome } from '../../../src/bot/deploys/render.js';
import { renderCi, renderCiFailed, renderPlan } from '../../../src/bot/promotion/render.js';
import { fitLines, plainText, TELEGRAM_TEXT_LIMIT } from '../../../src/bot/telegram-limits.js';
import type { CheckLine, CiState, Comparison } from '../../../src/forge/forge.js';
import { parseFormattedText } from '../../../src/sandbox/telegram/formatted-text.js';
import type { Deployment } from '../../../src/store/deployments.js';
import type { Promotion } from '../../../src/store/promotions.js';

const promotion = { headSha: 'a'.repeat(40) } as Promotion;
const parsed = (html: string) => parseFormattedText(html, 'HTML', undefined).text;

function checks(count: number, state: CheckLine['state'], prefix: string): CheckLine[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix} <${'x'.repeat(80)}> & ${i + 1}`,
    kind: 'check_run' as const,
    state,
    detail: state === 'pending' ? 'in_progress' : state,
    url: `https://github.example/runs/${i}?a=1&b=2`,
  }));
}

describe('CI messages within Telegram’s 4096 characters', () => {
  it('keeps a line per check while they fit', () => {
    const ci: CiState = { overall: 'pending', checks: checks(3, 'pending', 'lint') };
    const text = parsed(renderCi(promotion, ci));
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toContain('⏳ lint <');
  });

  it('summarises a big matrix: counts per state, failing ones first by name, then "…and N more"', () => {
    const ci: CiState = {
      overall: 'failure',
      checks: [
        ...checks(60, 'success', 'ok'),
        ...checks(30, 'pending', 'run'),
        ...checks(10, 'failure', 'bad'),
      ],
    };
    const html = renderCi(promotion, ci);
    const text = parsed(html);
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(plainText(html)).toBe(text);
    expect(text).toContain('(100 checks)');
    expect(text).toContain('✅ 60 passed · ❌ 10 failed · ⏳ 30 running');
    for (let i = 1; i <= 10; i++) expect(text).toContain(`& ${i} — failure`);
    expect(text).not.toContain('ok <');
    expect(text).toMatch(/…and \d+ more$/);
  });

  it('fits a red CI with a hundred failures, naming as many as fit', () => {
    const html = renderCiFailed(promotion, { overall: 'failure', checks: checks(100, 'failure', 'bad') });
    const text = parsed(html);
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(text).toMatch(/…and \d+ more\nFix develop and run \/promote again\.$/);
  });

  it('fitLines keeps every line when all fit, and counts the rest exactly when not', () => {
    expect(fitLines(['h'], ['a', 'b'], ['t'], 100)).toBe('h\na\nb\nt');
    const cut = fitLines(['h'], ['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(10)], [], 30);
    expect(cut).toBe(`h\n${'a'.repeat(10)}\n…and 2 more`);
    expect(cut.length).toBeLessThanOrEqual(30);
  });
});

describe('other long texts within Telegram’s 4096 characters', () => {
  it('the plan of ten commits with very long subjects', () => {
    const comparison = {
      aheadBy: 10,
      filesChanged: 3,
      commits: Array.from({ length: 10 }, (_, i) => ({
        sha: `${i}`.repeat(40),
        title: `Subject ${i} ${'y'.repeat(1000)}`,
        author: 'z'.repeat(300),
      })),
    } as unknown as Comparison;
    const text = parsed(renderPlan(comparison, 'https://github.example/pull/1', 1, false));
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(text).toContain('Subject 9');
  });

  it('a failed deploy with a long error, many irreversible migrations and a long log tail', () => {
    const at = new Date('2026-11-23T10:00:00Z');
    const d = { id: 7, env: 'production', startedAt: at } as unknown as Deployment;
    const html = renderOutcome(
      d,
      {
        status: 'failed',
        step: 'migrate',
        message: `migration failed: ${'e'.repeat(5000)}`,
        logTail: Array.from({ length: 400 }, (_, i) => `line ${i} ${'l'.repeat(60)}`),
      },
      (t) => t,
      at,
      Array.from({ length: 12 }, (_, i) => `00${i}_a_long_migration_name_that_cannot_be_undone`),
    );
    const text = parsed(html);
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(text).toContain('line 399');
  });
});
