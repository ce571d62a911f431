// The DORA performance bands /delivery names (2021 Accelerate State of DevOps report, with
// lugh's thresholds where the report leaves gaps), at their edges.
import { describe, expect, it } from 'vitest';
import {
  failureRateBand,
  frequencyBand,
  leadTimeBand,
  restoreBand,
} from '../../../src/deploys/delivery-report.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

describe('DORA bands', () => {
  it('deployment frequency: daily elite, monthly high, half-yearly medium', () => {
    expect([1, 0.99, 1 / 30, 1 / 31, 1 / 182, 1 / 183, 0].map(frequencyBand)).toEqual([
      'elite',
      'high',
      'high',
      'medium',
      'medium',
      'low',
      'low',
    ]);
  });
  it('lead time: under an hour elite, a week high, six months medium', () => {
    expect([HOUR - 1, HOUR, 7 * DAY - 1, 7 * DAY, 182 * DAY - 1, 182 * DAY].map(leadTimeBand)).toEqual([
      'elite',
      'high',
      'high',
      'medium',
      'medium',
      'low',
    ]);
  });
  it('change failure rate: up to 15 % elite, 30 % high, above low', () => {
    expect([0, 0.15, 0.151, 0.3, 0.31, 1].map(failureRateBand)).toEqual([
      'elite',
      'elite',
      'high',
      'high',
      'low',
      'low',
    ]);
  });
  it('time to restore: under an hour elite, a day high, a week medium', () => {
    expect([HOUR - 1, HOUR, DAY - 1, DAY, 7 * DAY - 1, 7 * DAY].map(restoreBand)).toEqual([
      'elite',
      'high',
      'high',
      'medium',
      'medium',
      'low',
    ]);
  });
});
