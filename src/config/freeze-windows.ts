/**
 * Freeze windows: weekly periods in which nothing is promoted, e.g.
 * `Fri 16:00-Mon 08:00` in a configured IANA time zone. Several are separated by `;`.
 */
export interface FreezeWindow {
  /** Minutes since Monday 00:00 (0 … 10079). */
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WEEK = 7 * 24 * 60;
const POINT = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\s+(\d{1,2}):(\d{2})$/i;

function parsePoint(text: string): number | undefined {
  const m = POINT.exec(text.trim());
  if (!m) return undefined;
  const day = DAYS.indexOf(m[1]!.slice(0, 3).toLowerCase());
  const hour = Number(m[2]);
  const minute = Number(m[3]);
  if (hour > 23 || minute > 59) return undefined;
  return day * 24 * 60 + hour * 60 + minute;
}

/** Parses `Fri 16:00-Mon 08:00; Wed 12:00-Wed 13:00`; throws with the part that is wrong. */
export function parseFreezeWindows(spec: string): FreezeWindow[] {
  return spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const [from, to, extra] = part.split('-');
      const start = from === undefined ? undefined : parsePoint(from);
      const end = to === undefined ? undefined : parsePoint(to);
      if (start === undefined || end === undefined || extra !== undefined || start === end) {
        throw new Error(`"${part}" is not a window like "Fri 16:00-Mon 08:00"`);
      }
      return { start, end, text: part };
    });
}

/** Minutes since Monday 00:00 of `now` in `timeZone`. */
export function minuteOfWeek(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = DAYS.indexOf(get('weekday').slice(0, 3).toLowerCase());
  return day * 24 * 60 + Number(get('hour')) * 60 + Number(get('minute'));
}

/** The window `now` falls in, if any; windows may wrap around the week's end. */
export function activeFreeze(
  windows: readonly FreezeWindow[],
  now: Date,
  timeZone: string,
): FreezeWindow | undefined {
  const m = minuteOfWeek(now, timeZone);
  return windows.find((w) => (w.start < w.end ? m >= w.start && m < w.end : m >= w.start || m < w.end));
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

export { WEEK as MINUTES_PER_WEEK };
