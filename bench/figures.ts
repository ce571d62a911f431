// The figures a bench run measures, as records: each is printed as it is recorded (with its
// reference, measured in the same run, the ratio to it, and the goal it is held to), kept
// for bench/results.json, and compared with an earlier run's file (`--compare old.json`).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export type Unit = 'ms' | 's' | 'MiB' | '%' | 'requests' | 'points' | 'updates';

export interface Figure {
  /** Stable across runs: what `--compare` matches on (e.g. `help.p50`). */
  readonly key: string;
  /** What is measured, as a person reads it. */
  readonly label: string;
  readonly value: number;
  readonly unit: Unit;
  /** The same thing measured on the reference (bare grammY, kamal-proxy's interval…), in the same run. */
  readonly reference?: { readonly label: string; readonly value: number };
  /** The figure must stay at or under `max` (an absolute value) or `ratio` × the reference. */
  readonly goal?: { readonly max?: number; readonly ratio?: number };
  /** How it was measured, when the label cannot say (samples, load…). */
  readonly note?: string;
}

const recorded: Figure[] = [];

const digits = (unit: Unit, value: number) =>
  unit === 'ms' && value < 10 ? value.toFixed(2) : unit === 's' ? value.toFixed(2) : value.toFixed(1);
export const show = (value: number, unit: Unit) =>
  Number.isFinite(value) ? `${digits(unit, value)} ${unit}` : 'n/a';

/** Whether the figure meets its goal; undefined when it has none. */
export function meetsGoal(figure: Figure): boolean | undefined {
  const { goal, reference, value } = figure;
  if (!goal) return undefined;
  if (!Number.isFinite(value)) return false;
  if (goal.max !== undefined && value > goal.max) return false;
  if (goal.ratio !== undefined && reference && value > goal.ratio * reference.value) return false;
  return true;
}

function describeGoal(figure: Figure): string {
  const { goal } = figure;
  if (!goal) return '';
  const parts = [
    goal.ratio !== undefined ? `≤ ${goal.ratio}× reference` : undefined,
    goal.max !== undefined ? `≤ ${show(goal.max, figure.unit)}` : undefined,
  ].filter(Boolean);
  return `goal ${parts.join(', ')}: ${meetsGoal(figure) ? 'met' : 'NOT met'}`;
}

/** One line for a figure: value, reference and ratio, goal. */
export function formatFigure(figure: Figure): string {
  const cells = [`  ${figure.label.padEnd(44)} ${show(figure.value, figure.unit).padStart(11)}`];
  if (figure.reference) {
    // No ratio to a reference of 0 (failed requests: kamal-proxy's 0).
    const ratio =
      figure.reference.value === 0 ? '' : ` (${(figure.value / figure.reference.value).toFixed(2)}×)`;
    cells.push(`${figure.reference.label} ${show(figure.reference.value, figure.unit)}${ratio}`);
  }
  const goal = describeGoal(figure);
  if (goal) cells.push(goal);
  if (figure.note) cells.push(figure.note);
  return cells.join('  ·  ');
}

/** Prints the figure and keeps it for the results file. */
export function record(figure: Figure): void {
  recorded.push(figure);
  console.log(formatFigure(figure));
}

export const recordedFigures = (): readonly Figure[] => recorded;

export function writeResults(file: string, figures: readonly Figure[] = recorded): void {
  const body = { at: new Date().toISOString(), figures };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

export function readResults(file: string): Figure[] {
  if (!existsSync(file))
    throw new Error(
      `--compare: there is no ${file} (give the bench/results.json of an earlier run, copied aside)`,
    );
  let body: { figures?: Figure[] };
  try {
    body = JSON.parse(readFileSync(file, 'utf8')) as { figures?: Figure[] };
  } catch (error) {
    throw new Error(
      `--compare: ${file} is not JSON (${(error as Error).message}); give a bench/results.json`,
    );
  }
  if (!Array.isArray(body.figures)) throw new Error(`${file} holds no figures (is it a bench/results.json?)`);
  return body.figures;
}

/** Lines telling how each figure moved since an earlier run (matched by key). */
export function compareFigures(before: readonly Figure[], now: readonly Figure[]): string[] {
  const old = new Map(before.map((f) => [f.key, f]));
  return now.map((f) => {
    const was = old.get(f.key);
    if (!was) return `  ${f.label.padEnd(44)} ${show(f.value, f.unit).padStart(11)}  (new)`;
    const change = was.value === 0 ? Number.NaN : ((f.value - was.value) / was.value) * 100;
    const sign = change > 0 ? '+' : '';
    return `  ${f.label.padEnd(44)} ${show(was.value, was.unit).padStart(11)} → ${show(f.value, f.unit)}  (${Number.isFinite(change) ? `${sign}${change.toFixed(1)} %` : 'n/a'})`;
  });
}
