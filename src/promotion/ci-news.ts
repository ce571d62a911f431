// What a GitHub webhook tells a promotion that waits on CI, read from its payload: which pull
// request or commit it is about, whether the pull request needs reading again, and the check
// it reports (a check run or a commit status), so the live CI message follows the webhooks
// without a request to GitHub while CI runs. CI's end is always confirmed by reading GitHub.
import { checkRunState } from '../forge/ci-summary.js';
import type { CheckLine } from '../forge/forge.js';
import type { CiNews } from './parts.js';
import { headShaOf } from './policy.js';

export interface WebhookNews {
  /** The commit it is about (a CI event), or undefined. */
  readonly sha?: string;
  /** The pull request it is about (a pull_request event). */
  readonly pullNumber?: number;
  readonly news: CiNews;
}

type Json = Record<string, unknown>;
const object = (v: unknown): Json | undefined => (v && typeof v === 'object' ? (v as Json) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The check a check_run or status delivery reports, as a line of the CI message. */
export function checkLineOf(event: string, payload: unknown): CheckLine | undefined {
  const p = object(payload);
  if (event === 'check_run') {
    const run = object(p?.check_run);
    const name = text(run?.name);
    const status = text(run?.status);
    if (!run || !name || !status) return undefined;
    const conclusion = text(run.conclusion) ?? null;
    const url = text(run.html_url) ?? text(run.details_url);
    return {
      name,
      kind: 'check_run',
      state: checkRunState(status, conclusion),
      detail: status === 'completed' ? (conclusion ?? 'completed') : status,
      ...(url ? { url } : {}),
    };
  }
  if (event === 'status') {
    const name = text(p?.context);
    const state = text(p?.state);
    if (!name || !state) return undefined;
    const url = text(p?.target_url);
    return {
      name,
      kind: 'status',
      state: state === 'pending' ? 'pending' : state === 'success' ? 'success' : 'failure',
      detail: state,
      ...(url ? { url } : {}),
    };
  }
  return undefined;
}

/**
 * What one delivery says changed. A pull_request event is matched by its number (a
 * synchronize names the new head) and reads the pull request again unless it was only
 * opened or edited; a check run or a status carries its line; a suite or workflow run that
 * was only requested says nothing yet (its runs will); anything else reads CI.
 */
export function webhookNews(event: string, payload: unknown): WebhookNews {
  const p = object(payload);
  const action = text(p?.action);
  if (event === 'pull_request') {
    const pr = object(p?.pull_request);
    const pullNumber = typeof p?.number === 'number' ? p.number : (pr?.number as number | undefined);
    const unchanged = action === 'opened' || action === 'edited';
    return { pullNumber, news: { pull: !unchanged, ci: false } };
  }
  const sha = headShaOf(event, payload);
  const line = checkLineOf(event, payload);
  if (line) return { sha, news: { pull: false, ci: true, lines: [line] } };
  if ((event === 'check_suite' || event === 'workflow_run') && action === 'requested')
    return { sha, news: { pull: false, ci: true, lines: [] } };
  return { sha, news: { pull: false, ci: true } };
}
