// /history chart: an environment's deploys over the last 30 days as a small PNG (drawn as
// SVG here, rasterised by chart-png.ts).

import type { Deployment } from '../../store/deployments.js';
import { escapeHtml, formatDuration } from '../html.js';
import { ChartUnavailableError, rasterise, svgDocument } from './chart-png.js';

const DAY_MS = 86_400_000;
export const CHART_DAYS = 30;
// Laid out for a phone's bubble (about 300 px wide); chart-png.ts draws it at twice that.
const WIDTH = 480;
const HEIGHT = 280;
const PLOT = { left: 58, right: 12, top: 36, bottom: 52 };
const COLOUR: Record<string, string> = {
  succeeded: '#2e9d4f',
  failed: '#d64541',
  rolled_back: '#e0a030',
  cancelled: '#9a9a9a',
};
const LEGEND: ReadonlyArray<[string, string]> = [
  ['succeeded', 'succeeded'],
  ['rolled_back', 'rolled back'],
  ['failed', 'failed'],
];

/** What the chart shows: the finished deploys of the last 30 days, with their durations. */
export interface ChartFacts {
  readonly env: string;
  readonly count: number;
  readonly failed: number;
  readonly longestMs: number;
}

const finished = (d: Deployment) => d.finishedAt !== null && d.status !== 'running' && d.status !== 'queued';
const durationOf = (d: Deployment) => d.finishedAt!.getTime() - (d.startedAt ?? d.createdAt).getTime();

/** The chart as SVG: a bar per deploy at its day, as tall as it took, coloured by outcome. */
export function historyChartSvg(
  env: string,
  rows: readonly Deployment[],
  now: Date,
): { svg: string; facts: ChartFacts } {
  const since = now.getTime() - CHART_DAYS * DAY_MS;
  const shown = rows.filter((d) => finished(d) && d.finishedAt!.getTime() >= since);
  const longest = Math.max(60_000, ...shown.map(durationOf));
  // The y axis in whole minutes, rounded up to a step that gives four lines at most.
  const minutes = Math.ceil(longest / 60_000);
  const step = [1, 2, 5, 10, 15, 30, 60].find((s) => minutes / s <= 4) ?? Math.ceil(minutes / 4);
  const top = Math.ceil(minutes / step) * step;
  const w = WIDTH - PLOT.left - PLOT.right;
  const h = HEIGHT - PLOT.top - PLOT.bottom;
  const dayW = w / CHART_DAYS;
  const x = (t: number) => PLOT.left + ((t - since) / DAY_MS) * dayW;
  const y = (ms: number) => PLOT.top + h - (ms / (top * 60_000)) * h;
  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${PLOT.left}" y="26" font-size="16" fill="#222">${escapeHtml(env)}: deploys in the last ${CHART_DAYS} days (${shown.length})</text>`,
  );
  for (let m = 0; m <= top; m += step) {
    parts.push(
      `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(m * 60_000)}" y2="${y(m * 60_000)}" stroke="#e4e4e4"/>`,
      `<text x="${PLOT.left - 8}" y="${y(m * 60_000) + 4}" font-size="14" text-anchor="end" fill="#555">${m} min</text>`,
    );
  }
  // A tick each day, a date each week, counted back from today.
  for (let day = 0; day <= CHART_DAYS; day++) {
    const t = since + day * DAY_MS;
    const weekly = (CHART_DAYS - day) % 7 === 0;
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${PLOT.top + h}" y2="${PLOT.top + h + (weekly ? 8 : 4)}" stroke="#888"/>`,
    );
    if (weekly)
      parts.push(
        `<text x="${x(t)}" y="${PLOT.top + h + 24}" font-size="14" text-anchor="${day === CHART_DAYS ? 'end' : 'middle'}" fill="#555">${new Date(t).toISOString().slice(5, 10)}</text>`,
      );
  }
  // Deploys of one day stand side by side within the day.
  const byDay = new Map<number, Deployment[]>();
  for (const d of shown) {
    const day = Math.floor((d.finishedAt!.getTime() - since) / DAY_MS);
    byDay.set(day, [...(byDay.get(day) ?? []), d]);
  }
  for (const [day, list] of byDay) {
    const barW = Math.max(2, (dayW - 2) / list.length);
    list.forEach((d, i) => {
      const left = PLOT.left + day * dayW + 1 + i * barW;
      const top_ = Math.min(y(durationOf(d)), PLOT.top + h - 2);
      parts.push(
        `<rect x="${left.toFixed(1)}" y="${top_.toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${(PLOT.top + h - top_).toFixed(1)}" fill="${COLOUR[d.status] ?? '#9a9a9a'}"/>`,
      );
    });
  }
  parts.push(
    `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${PLOT.top + h}" y2="${PLOT.top + h}" stroke="#444"/>`,
  );
  LEGEND.forEach(([status, label], i) => {
    const lx = PLOT.left + i * 125;
    parts.push(
      `<rect x="${lx}" y="${HEIGHT - 22}" width="13" height="13" fill="${COLOUR[status]}"/>`,
      `<text x="${lx + 19}" y="${HEIGHT - 10}" font-size="14" fill="#333">${label}</text>`,
    );
  });
  const svg = svgDocument(WIDTH, HEIGHT, parts);
  return {
    svg,
    facts: {
      env,
      count: shown.length,
      failed: shown.filter((d) => d.status !== 'succeeded').length,
      longestMs: shown.length ? longest : 0,
    },
  };
}

export { ChartUnavailableError };

/** The chart as a PNG, and the caption that says in words what it shows. */
export async function renderHistoryChart(
  env: string,
  rows: readonly Deployment[],
  now: Date = new Date(),
): Promise<{ png: Buffer; caption: string }> {
  const { svg, facts } = historyChartSvg(env, rows, now);
  const png = await rasterise(svg, '/history gives the list');
  const caption = facts.count
    ? `📈 <b>${escapeHtml(env)}</b>: ${facts.count} deploy${facts.count === 1 ? '' : 's'} in ${CHART_DAYS} days, ${facts.failed} not succeeded; the longest took ${formatDuration(facts.longestMs)} (a bar’s height is how long it took).`
    : `📈 <b>${escapeHtml(env)}</b>: no deploy finished in the last ${CHART_DAYS} days.`;
  return { png, caption };
}
