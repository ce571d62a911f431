import type { ServiceProgress, ServiceState } from '../../store/deployment-services.js';
import { escapeHtml } from '../html.js';

const MARK: Record<ServiceState, string> = {
  waiting: '⏳',
  starting: '🔄',
  health: '🔄',
  switching: '🔄',
  switched: '✅',
  verified: '✅',
  failed: '❌',
  rolled_back: '↩️',
};

const WORD: Record<ServiceState, string> = {
  waiting: 'waiting',
  starting: 'starting',
  health: 'health check',
  switching: 'switching',
  switched: 'switched',
  verified: 'verified',
  failed: 'failed',
  rolled_back: 'rolled back',
};

/** Replaced and serving: a replica in one of these counts as done. */
const DONE = new Set<ServiceState>(['switched', 'verified']);
/** Which state of a service's replicas says most about it, first first. */
const TELLING: readonly ServiceState[] = [
  'failed',
  'rolled_back',
  'switching',
  'health',
  'starting',
  'waiting',
  'switched',
  'verified',
];

/** The services of a progress, in the order the deploy moves them, each with its replicas. */
export function byService(
  rows: readonly ServiceProgress[],
): Array<{ service: string; replicas: ServiceProgress[] }> {
  const out: Array<{ service: string; replicas: ServiceProgress[] }> = [];
  for (const row of rows) {
    const same = out.find((s) => s.service === row.service);
    if (same) same.replicas.push(row);
    else out.push({ service: row.service, replicas: [row] });
  }
  return out;
}

/** Whether a deployment is a set worth a line per service: more than one container. */
export const isSet = (rows: readonly ServiceProgress[]): boolean => rows.length > 1;

const clipped = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}…` : text);

/**
 * A line per service of a set deploy, for its progress message: `worker ✅ switched`,
 * `app 🔄 1/2 switching`, `web ⏳ waiting`, `worker ❌ failed: <why>`. A service of one
 * replica shows no count. None for a one-service deploy (it renders as before).
 */
export function renderServiceLines(rows: readonly ServiceProgress[]): string[] {
  if (!isSet(rows)) return [];
  return byService(rows).map(({ service, replicas }) => {
    const state = TELLING.find((s) => replicas.some((r) => r.state === s)) ?? 'waiting';
    const done = replicas.filter((r) => DONE.has(r.state)).length;
    const count = replicas.length > 1 ? ` ${done}/${replicas.length}` : '';
    const telling = replicas.find((r) => r.state === state);
    const detail =
      (state === 'failed' || state === 'rolled_back') && telling?.detail
        ? `: <i>${escapeHtml(clipped(telling.detail))}</i>`
        : '';
    const which = state === 'failed' && replicas.length > 1 ? ` (replica ${telling?.replica})` : '';
    return `${escapeHtml(service)} ${MARK[state]}${count} ${WORD[state]}${which}${detail}`;
  });
}

/**
 * What the final message of a failed set deploy says of the service that failed: its name,
 * its replica when it has several, and why; undefined when no container of the set failed.
 */
export function failedServiceLine(rows: readonly ServiceProgress[]): string | undefined {
  if (!isSet(rows)) return undefined;
  const failed = rows.find((r) => r.state === 'failed');
  if (!failed) return undefined;
  const replicas = rows.filter((r) => r.service === failed.service).length;
  const which =
    replicas > 1
      ? ` (replica ${failed.replica} of ${replicas}, ${escapeHtml(failed.container)})`
      : ` (${escapeHtml(failed.container)})`;
  const back = rows.filter((r) => r.state === 'rolled_back').map((r) => r.service);
  const rolled = back.length ? ` Put back: ${[...new Set(back)].map(escapeHtml).join(', ')}.` : '';
  return `❌ Service <b>${escapeHtml(failed.service)}</b>${which} failed${failed.detail ? `: ${escapeHtml(clipped(failed.detail))}` : ''}.${rolled}`;
}
