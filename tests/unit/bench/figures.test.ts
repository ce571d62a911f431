import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareFigures,
  type Figure,
  formatFigure,
  meetsGoal,
  readResults,
  writeResults,
} from '../../../bench/figures.js';

const help: Figure = {
  key: 'help.p50',
  label: '/help handling, p50',
  value: 0.9,
  unit: 'ms',
  reference: { label: 'bare grammY', value: 0.6 },
  goal: { ratio: 1.2 },
};

describe('bench figures', () => {
  it('holds a figure to its ratio of the reference and to its absolute maximum', () => {
    expect(meetsGoal(help)).toBe(false); // 0.9 > 1.2 × 0.6
    expect(meetsGoal({ ...help, value: 0.7 })).toBe(true);
    expect(meetsGoal({ ...help, value: 0.7, goal: { ratio: 1.2, max: 0.65 } })).toBe(false);
    expect(meetsGoal({ ...help, goal: undefined })).toBeUndefined();
    expect(meetsGoal({ ...help, value: Number.NaN })).toBe(false);
  });

  it('prints the value beside its reference, the ratio and whether the goal is met', () => {
    const line = formatFigure(help);
    expect(line).toContain('0.90 ms');
    expect(line).toContain('bare grammY 0.60 ms (1.50×)');
    expect(line).toContain('goal ≤ 1.2× reference: NOT met');
    const none = formatFigure({
      key: 'switch.failed',
      label: 'failed requests',
      value: 0,
      unit: 'requests',
      reference: { label: 'kamal-proxy', value: 0 },
      goal: { max: 0 },
    });
    expect(none).toContain('kamal-proxy 0.0 requests  ·  goal ≤ 0.0 requests: met');
  });

  it('writes the figures as JSON and compares a later run with them by key', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lugh-figures-')), 'results.json');
    writeResults(file, [help]);
    const before = readResults(file);
    expect(before).toEqual([help]);
    const lines = compareFigures(before, [
      { ...help, value: 0.45 },
      { key: 'status.p95', label: '/status p95', value: 59, unit: 'ms' },
    ]);
    expect(lines[0]).toContain('0.90 ms → 0.45 ms');
    expect(lines[0]).toContain('(-50.0 %)');
    expect(lines[1]).toContain('(new)');
  });

  it('refuses a file that holds no figures, saying what it expected', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lugh-figures-')), 'other.json');
    writeResults(file, []);
    expect(readResults(file)).toEqual([]);
    writeFileSync(file, '{"name":"x"}');
    expect(() => readResults(file)).toThrow(/holds no figures/);
  });

  it('says what to give when the file is missing or is not JSON', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-figures-'));
    expect(() => readResults(path.join(dir, 'old.json'))).toThrow(
      /there is no .*old\.json.*bench\/results\.json/,
    );
    writeFileSync(path.join(dir, 'notes.txt'), 'figures: fast');
    expect(() => readResults(path.join(dir, 'notes.txt'))).toThrow(
      /notes\.txt is not JSON.*bench\/results\.json/,
    );
  });
});
