// /delivery's caption: within Telegram's caption limit at its longest, and never NaN.
import { describe, expect, it } from 'vitest';
import { deliveryCaption } from '../../../src/bot/deploys/delivery-text.js';
import { plainLength, TELEGRAM_CAPTION_LIMIT } from '../../../src/bot/telegram-limits.js';
import type { DeliveryPeriod, DeliveryReport } from '../../../src/deploys/delivery-report.js';

const period = (p: Partial<DeliveryPeriod>): DeliveryPeriod => ({
  from: new Date(0),
  to: new Date(0),
  deploys: 0,
  changes: 0,
  failures: 0,
  leadSeconds: null,
  leadCount: 0,
  leadMissing: 0,
  restoreSeconds: null,
  restoreCount: 0,
  unrestored: 0,
  untitledNext: 0,
  ...p,
});
const report = (current: DeliveryPeriod, previous: DeliveryPeriod): DeliveryReport => ({
  env: 'production',
  days: 90,
  current,
  previous,
  series: [],
  previousBuckets: 9,
});

describe('/delivery caption', () => {
  it('stays within the caption limit with every line it can have', () => {
    const big = period({
      deploys: 123_456,
      changes: 234_567,
      failures: 111_111,
      leadSeconds: 9_999_999_999,
      leadCount: 99_999,
      leadMissing: 99_999,
      restoreSeconds: 9_999_999_999,
      restoreCount: 99_999,
      unrestored: 99_999,
      untitledNext: 99_999,
    });
    const caption = deliveryCaption(report(big, big));
    expect(caption.split('\n')).toHaveLength(8);
    expect(plainLength(caption)).toBeLessThanOrEqual(TELEGRAM_CAPTION_LIMIT);
  });

  it('says a window without deploys after one with them in words, without NaN', () => {
    const caption = deliveryCaption(
      report(
        period({}),
        period({ deploys: 2, changes: 3, failures: 1, restoreSeconds: 600, restoreCount: 1 }),
      ),
    );
    expect(caption).not.toMatch(/NaN|Infinity|undefined/);
    expect(caption).toContain('no deploys in 90 days');
    expect(caption).toContain('<b>Deploys</b>: 0 (0.0 a week) ▼ from 2 · <i>low</i>');
    expect(caption).toContain('<b>Change failure rate</b>: no change');
    expect(caption).toContain('<b>Time to restore</b>: no failure to restore');
  });
});
