// /delivery chart: four small panels (deploys, lead time, change failure rate, time to
// restore), each a bar per bucket across the previous period (grey) and the window (in
// colour), drawn as SVG and rasterised by chart-png.ts. The caption carries the figures.
import { type DeliveryPeriod, type DeliveryReport, failureRate } from '../../deploys/delivery-report.js';
import { escapeHtml, formatDuration } from '../html.js';
import { CHART_SCALE, rasterise, svgDocument } from './chart-png.js';

// Laid out for a phone's bubble (about 300 px wide); drawn at CHART_SCALE.
const WIDTH = 480;
const HEIGHT = 400;
const HEADER = 30;
const FOOTER = 26;
const GAP = 10;
const PREVIOUS = '#c4c4c4';

/** The PNG's size in pixels (what a test reads from its IHDR). */
export const DELIVERY_CHART_SIZE = { width: WIDTH * CHART_SCALE, height: HEIGHT * CHART_SCALE } as const;

interface Panel {
  readonly title: string;
  readonly colour: string;
  readonly value: (p: DeliveryPeriod) => number | null;
  /** The top of the scale as people read it. */
  readonly label: (max: number) => string;
}

const PANELS: readonly Panel[] = [
  { title: 'Deploys', colour: '#2e9d4f', value: (p) => p.deploys, label: (m) => String(m) },
  {
    title: 'Lead time (median)',
    colour: '#3a78c2',
    value: (p) => p.leadSeconds,
    label: (m) => formatDuration(m * 1000),
  },
  {
    title: 'Change failure rate',
    colour: '#d64541',
    value: (p) => {
      const rate = failureRate(p);
      return rate === null ? null : rate * 100;
    },
    label: (m) => `${Math.round(m)} %`,
  },
  {
    title: 'Time to restore (median)',
    colour: '#e0a030',
    value: (p) => p.restoreSeconds,
    label: (m) => formatDuration(m * 1000),
  },
];

/** One panel at (x, y) of w × h: its title, the top of its scale, a bar per bucket. */
function panelSvg(
  panel: Panel,
  report: DeliveryReport,
  x: number,
  y: number,
  w: number,
  h: number,
): string[] {
  const values = report.series.map(panel.value);
  const max = Math.max(...values.map((v) => v ?? 0));
  const top = max > 0 ? max : 1;
  const plot = { left: x + 4, top: y + 40, width: w - 8, height: h - 46 };
  const barW = plot.width / values.length;
  const parts = [
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#fafafa" stroke="#e0e0e0"/>`,
    `<text x="${x + 8}" y="${y + 16}" font-size="13" fill="#222">${escapeHtml(panel.title)}</text>`,
    `<text x="${x + 8}" y="${y + 31}" font-size="11" fill="#666">${max > 0 ? `top of scale ${escapeHtml(panel.label(max))}` : 'nothing in either period'}</text>`,
  ];
  values.forEach((v, i) => {
    if (v === null || v <= 0) return;
    const bh = Math.max(1, (v / top) * plot.height);
    parts.push(
      `<rect x="${(plot.left + i * barW + 1).toFixed(1)}" y="${(plot.top + plot.height - bh).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${i < report.previousBuckets ? PREVIOUS : panel.colour}"/>`,
    );
  });
  const split = plot.left + report.previousBuckets * barW;
  parts.push(
    `<line x1="${split}" x2="${split}" y1="${plot.top - 4}" y2="${plot.top + plot.height}" stroke="#999" stroke-dasharray="3,3"/>`,
    `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${plot.top + plot.height}" y2="${plot.top + plot.height}" stroke="#444"/>`,
  );
  return parts;
}

/** The chart as SVG: a heading, the four panels in two rows, and what grey means. */
export function deliveryChartSvg(report: DeliveryReport): string {
  const w = (WIDTH - 3 * GAP) / 2;
  const h = (HEIGHT - HEADER - FOOTER - 2 * GAP) / 2;
  const bucket = report.days / report.previousBuckets;
  const parts = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${GAP}" y="21" font-size="16" fill="#222">${escapeHtml(report.env)}: delivery, last ${report.days} days</text>`,
  ];
  PANELS.forEach((panel, i) => {
    const x = GAP + (i % 2) * (w + GAP);
    const y = HEADER + Math.floor(i / 2) * (h + GAP);
    parts.push(...panelSvg(panel, report, x, y, w, h));
  });
  parts.push(
    `<rect x="${GAP}" y="${HEIGHT - 19}" width="12" height="12" fill="${PREVIOUS}"/>`,
    `<text x="${GAP + 18}" y="${HEIGHT - 9}" font-size="12" fill="#333">the ${report.days} days before; a bar per ${bucket === 1 ? 'day' : `${bucket} days`}</text>`,
  );
  return svgDocument(WIDTH, HEIGHT, parts);
}

/** The chart as a PNG (ChartUnavailableError where resvg cannot load). */
export async function renderDeliveryChart(report: DeliveryReport): Promise<Buffer> {
  return rasterise(deliveryChartSvg(report), 'the figures are above');
}
