// /delivery's facts: the four DORA figures of a window and of the period before it, their
// performance bands, and the series the chart draws. The SQL is the store's
// (store/delivery-figures.ts); the words are the bot's.
import type { AppEnv } from '../config/environments.js';
import type { DeliveryPeriod } from '../store/delivery-figures.js';

export type { DeliveryPeriod } from '../store/delivery-figures.js';

/** The windows /delivery offers, in days. */
export const DELIVERY_WINDOWS = [7, 30, 90] as const;
export type DeliveryWindow = (typeof DELIVERY_WINDOWS)[number];
export const DEFAULT_DELIVERY_WINDOW: DeliveryWindow = 30;

/** The chart's bucket per window: a day over 7 days, 5 days over 30, 10 days over 90. */
const BUCKET_DAYS: Record<DeliveryWindow, number> = { 7: 1, 30: 5, 90: 10 };
const DAY_MS = 86_400_000;

export type Band = 'elite' | 'high' | 'medium' | 'low';

/**
 * The performance bands of the 2021 Accelerate State of DevOps report (DORA). The report
 * leaves gaps between some bands and gives change failure rate 16–30 % for high, medium and
 * low alike; lugh's thresholds below close them (README, "Delivery metrics").
 */
export const DORA_REPORT = '2021 Accelerate State of DevOps report';

const HOUR = 3600;
const DAY = 24 * HOUR;

/** Deploys per day: elite at least one a day, high one a month, medium one in six months. */
export function frequencyBand(perDay: number): Band {
  if (perDay >= 1) return 'elite';
  if (perDay >= 1 / 30) return 'high';
  if (perDay >= 1 / 182) return 'medium';
  return 'low';
}

/** Lead time in seconds: elite under an hour, high under a week, medium under six months. */
export function leadTimeBand(seconds: number): Band {
  if (seconds < HOUR) return 'elite';
  if (seconds < 7 * DAY) return 'high';
  if (seconds < 182 * DAY) return 'medium';
  return 'low';
}

/** Change failure rate (0–1): elite up to 15 %, high up to 30 %, low above. */
export function failureRateBand(rate: number): Band {
  if (rate <= 0.15) return 'elite';
  if (rate <= 0.3) return 'high';
  return 'low';
}

/** Time to restore in seconds: elite under an hour, high under a day, medium under a week. */
export function restoreBand(seconds: number): Band {
  if (seconds < HOUR) return 'elite';
  if (seconds < DAY) return 'high';
  if (seconds < 7 * DAY) return 'medium';
  return 'low';
}

/** What /delivery shows for one environment and window. */
export interface DeliveryReport {
  readonly env: AppEnv;
  readonly days: DeliveryWindow;
  readonly current: DeliveryPeriod;
  readonly previous: DeliveryPeriod;
  /** The chart's buckets across the previous period and the window, oldest first. */
  readonly series: readonly DeliveryPeriod[];
  /** How many of `series` are the previous period's (the first ones). */
  readonly previousBuckets: number;
}

/** The store's read the report needs. */
export interface DeliveryReads {
  deliveryPeriods(env: AppEnv, from: Date, periodMs: number, count: number): Promise<DeliveryPeriod[]>;
}

/** The window ending at `now` and the one before it, and the chart's series over both. */
export async function deliveryReport(
  reads: DeliveryReads,
  env: AppEnv,
  days: DeliveryWindow,
  now: Date,
): Promise<DeliveryReport> {
  const windowMs = days * DAY_MS;
  const from = new Date(now.getTime() - 2 * windowMs);
  const [previous, current] = await reads.deliveryPeriods(env, from, windowMs, 2);
  const perWindow = days / BUCKET_DAYS[days];
  const series = await reads.deliveryPeriods(env, from, BUCKET_DAYS[days] * DAY_MS, 2 * perWindow);
  return { env, days, current: current!, previous: previous!, series, previousBuckets: perWindow };
}

/** Deploys per day over a period of `days`. */
export const perDay = (p: DeliveryPeriod, days: number): number => p.deploys / days;

/** Failures over changes, or null when nothing changed. */
export const failureRate = (p: DeliveryPeriod): number | null => (p.changes ? p.failures / p.changes : null);
