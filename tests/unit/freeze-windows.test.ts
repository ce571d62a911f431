import { describe, expect, it } from 'vitest';
import { activeFreeze, minuteOfWeek, parseFreezeWindows } from '../../src/config/freeze-windows.js';

describe('freeze windows', () => {
  const weekend = parseFreezeWindows('Fri 16:00-Mon 08:00');

  it('parses windows and names the part that is wrong', () => {
    expect(parseFreezeWindows('Fri 16:00-Mon 08:00; wednesday 12:00-wed 13:30')).toEqual([
      { start: 4 * 1440 + 960, end: 480, text: 'Fri 16:00-Mon 08:00' },
      { start: 2 * 1440 + 720, end: 2 * 1440 + 810, text: 'wednesday 12:00-wed 13:30' },
    ]);
    expect(() => parseFreezeWindows('Fri 16:00-Mon 25:00')).toThrow('"Fri 16:00-Mon 25:00" is not a window');
    expect(() => parseFreezeWindows('Friday afternoon')).toThrow('is not a window');
  });

  it('counts minutes of the week in the configured time zone', () => {
    // 2026-11-23 is a Monday. 07:30 UTC is 08:30 in Berlin (CET, UTC+1).
    expect(minuteOfWeek(new Date('2026-11-23T07:30:00Z'), 'UTC')).toBe(450);
    expect(minuteOfWeek(new Date('2026-11-23T07:30:00Z'), 'Europe/Berlin')).toBe(510);
  });

  it('finds a window that wraps around the end of the week, at its edges', () => {
    const at = (iso: string, tz = 'UTC') => activeFreeze(weekend, new Date(iso), tz)?.text;
    expect(at('2026-11-27T15:59:00Z')).toBeUndefined(); // Friday 15:59
    expect(at('2026-11-27T16:00:00Z')).toBe('Fri 16:00-Mon 08:00');
    expect(at('2026-11-29T12:00:00Z')).toBe('Fri 16:00-Mon 08:00'); // Sunday
    expect(at('2026-11-30T07:59:00Z')).toBe('Fri 16:00-Mon 08:00'); // Monday 07:59
    expect(at('2026-11-30T08:00:00Z')).toBeUndefined();
    // Monday 07:30 UTC is 08:30 in Berlin: already out of the window there.
    expect(at('2026-11-30T07:30:00Z', 'Europe/Berlin')).toBeUndefined();
  });
});
