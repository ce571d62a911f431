// /delivery in words: the caption under the chart, or the whole answer when there is none.
import {
  type Band,
  type DeliveryReport,
  DORA_REPORT,
  failureRate,
  failureRateBand,
  frequencyBand,
  leadTimeBand,
  perDay,
  restoreBand,
} from '../../deploys/delivery-report.js';
import { escapeHtml, formatDuration } from '../html.js';

/** ▲ or ▼ and the previous value, `=` when it held, or that there was none to compare. */
function trend(now: number | null, before: number | null, show: (v: number) => string): string {
  if (before === null) return '(none before)';
  if (now === null) return `(${show(before)} before)`;
  if (now === before) return `= ${show(before)} before`;
  return `${now > before ? '▲' : '▼'} from ${show(before)}`;
}

const band = (b: Band) => `<i>${b}</i>`;
const duration = (seconds: number) => formatDuration(Math.round(seconds * 1000));
const percent = (rate: number) => `${Math.round(rate * 100)} %`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function frequencyText(perDayNow: number): string {
  return perDayNow >= 1 ? `${perDayNow.toFixed(1)} a day` : `${(perDayNow * 7).toFixed(1)} a week`;
}

/** The four figures with their trend and band, as HTML lines (one or two per figure). */
export function deliveryLines(report: DeliveryReport): string[] {
  const { current: now, previous: before, days, env } = report;
  const lines: string[] = [];
  const rateNow = perDay(now, days);
  lines.push(
    `<b>Deploys</b>: ${now.deploys} (${frequencyText(rateNow)}) ${trend(now.deploys, before.deploys, String)} · ${band(frequencyBand(rateNow))}`,
  );
  if (now.leadSeconds !== null)
    lines.push(
      `<b>Lead time</b>: ${duration(now.leadSeconds)}, median of ${now.leadCount} ${trend(now.leadSeconds, before.leadSeconds, duration)} · ${band(leadTimeBand(now.leadSeconds))}`,
    );
  else
    lines.push(
      env === 'staging'
        ? '<b>Lead time</b>: production’s figure (staging deploys pushes; ask the production bot)'
        : '<b>Lead time</b>: no promoted deploy with its first commit’s time',
    );
  if (now.leadMissing)
    lines.push(
      `  ${plural(now.leadMissing, 'promoted deploy')} without the first commit’s time (promoted before lugh recorded it): not in the lead time`,
    );
  const cfrNow = failureRate(now);
  lines.push(
    cfrNow === null
      ? '<b>Change failure rate</b>: no change'
      : `<b>Change failure rate</b>: ${percent(cfrNow)} (${now.failures} of ${now.changes}) ${trend(cfrNow, failureRate(before), percent)} · ${band(failureRateBand(cfrNow))}`,
  );
  // Staging deploys pushes, which carry no title: it never judges fix-forwards (README).
  if (now.untitledNext && env === 'production')
    lines.push(
      `  ${plural(now.untitledNext, 'change')} followed within a day by one without its commit’s title (not promoted, or before lugh recorded it): not judged as fix-forwards`,
    );
  if (now.restoreSeconds !== null)
    lines.push(
      `<b>Time to restore</b>: ${duration(now.restoreSeconds)}, median of ${now.restoreCount} ${trend(now.restoreSeconds, before.restoreSeconds, duration)} · ${band(restoreBand(now.restoreSeconds))}`,
    );
  else lines.push(`<b>Time to restore</b>: ${now.failures ? 'not restored yet' : 'no failure to restore'}`);
  if (now.unrestored && now.restoreSeconds !== null)
    lines.push(`  ${plural(now.unrestored, 'failure')} not restored yet`);
  return lines;
}

/** The whole answer in words (the photo's caption): a heading, then the figures. */
export function deliveryCaption(report: DeliveryReport): string {
  const { current, previous, days, env } = report;
  const heading = `📦 <b>${escapeHtml(env)}</b>, last ${days} days`;
  if (current.changes === 0 && previous.changes === 0)
    return `${heading}: no deploys in ${days} days (nor in the ${days} before).`;
  const head = `${heading}${current.changes ? '' : `: no deploys in ${days} days`} (against the ${days} before; bands: ${DORA_REPORT}):`;
  return [head, ...deliveryLines(report)].join('\n');
}
