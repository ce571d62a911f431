// The preview lifecycle: pull_request deliveries and the reconciling poll decide
// (preview-plan.ts), rows record (store/previews.ts), and jobs on the `previews` queue act
// (preview-jobs.ts). It is also what the bot asks (`Previews`): list, start, redeploy,
// tear down, logs, counts.
import { NotFoundError } from '../forge/errors.js';
import { withoutUrlPasswords } from '../redact.js';
import type { PreviewRow } from '../store/previews.js';
import type { PreviewActor, PreviewRequestOutcome, Previews, PreviewView } from './preview.js';
import { createPreviewForge } from './preview-forge.js';
import { createPreviewJobs, type PreviewJobDeps } from './preview-jobs.js';
import { decideDelivery, FORK_WAITS, type PullRequestEvent, planReconcile } from './preview-plan.js';
import type { PreviewJobData, PreviewQueue } from './preview-queue.js';

export interface PreviewServiceDeps extends Omit<PreviewJobDeps, 'github'> {
  readonly queue: PreviewQueue;
  /** The branch previews are for: staging's (`develop`). */
  readonly base: string;
  readonly now?: () => Date;
}

/** The service: `Previews` for the bot, plus the entry points of GitHub and the poll and the worker's handler. */
export interface PreviewService extends Previews {
  /** A verified, first-seen GitHub delivery (http.ts hands every one; only pull_request matters). */
  handleWebhook(delivery: { readonly event: string; readonly payload: unknown }): Promise<void>;
  /** Queues the reconciling look (run between jobs): a missed webhook only delays. */
  reconcile(): Promise<void>;
  /** What the queue's worker runs for a job (preview-queue.ts). */
  handle(data: PreviewJobData): Promise<string>;
}

/** The words of a pull_request payload that matter; undefined when it is not one. */
export function pullRequestEvent(payload: unknown): PullRequestEvent | undefined {
  const p = payload as {
    action?: unknown;
    number?: unknown;
    changes?: { base?: unknown };
    pull_request?: {
      number?: unknown;
      state?: unknown;
      user?: { login?: unknown };
      head?: { sha?: unknown; ref?: unknown; repo?: { id?: unknown } | null };
      base?: { ref?: unknown; repo?: { id?: unknown } };
    };
  };
  const pull = p?.pull_request;
  const pr = Number(p?.number ?? pull?.number);
  if (typeof p?.action !== 'string' || !pull || !Number.isInteger(pr) || pr < 1) return undefined;
  const headSha = pull.head?.sha;
  const baseRef = pull.base?.ref;
  if (typeof headSha !== 'string' || typeof baseRef !== 'string') return undefined;
  // A head repository that is gone (a deleted fork) or another than the base's is a fork.
  const headRepo = pull.head?.repo?.id;
  const fork = headRepo === undefined || headRepo === null || headRepo !== pull.base?.repo?.id;
  return {
    action: p.action,
    pr,
    headSha,
    headRef: String(pull.head?.ref ?? ''),
    baseRef,
    author: String(pull.user?.login ?? 'unknown'),
    fork,
    // GitHub always says; a payload without it is taken as open (the job asks the forge again).
    state: typeof pull.state === 'string' ? pull.state : 'open',
    baseChanged: p.changes?.base !== undefined,
  };
}

export function createPreviewService(deps: PreviewServiceDeps): PreviewService {
  const { store, queue, runtime } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'previews' });
  const github = createPreviewForge({ forge: deps.forge, store, logger: deps.logger, redact: deps.redact });
  const jobs = createPreviewJobs({ ...deps, github });

  const deployQueued = (row: PreviewRow) =>
    queue.add({ kind: 'deploy', pr: row.pr, generation: row.generation });

  /** Records a head that waits for an admin (a fork's), and says so on its pull request. */
  const wait = async (head: Parameters<typeof store.request>[0]) => {
    const before = await store.get(head.pr);
    const row = await store.request(head, 'stopped', FORK_WAITS, now());
    // A new push to a fork an admin started: its container (the head approved) stops too.
    if (before && before.state !== 'stopped' && before.state !== 'closed')
      await queue.add({ kind: 'stop', pr: row.pr, generation: row.generation, dropData: false });
    else await queue.add({ kind: 'wait', pr: row.pr, generation: row.generation });
  };

  const closeRow = async (pr: number) => {
    const row = await store.bump(pr, { state: 'closed', reason: 'pull request closed' }, now());
    if (row) await queue.add({ kind: 'close', pr, generation: row.generation });
  };

  const stopRow = async (pr: number, reason: string, dropData: boolean, by?: string) => {
    const row = await store.bump(pr, { state: 'stopped', reason, stoppedBy: by ?? null }, now());
    if (row) await queue.add({ kind: 'stop', pr, generation: row.generation, dropData });
  };

  /** The reconciling look, run by the worker between jobs. */
  const reconcileNow = async (): Promise<string> => {
    if (!deps.forge) return 'no forge';
    const [rows, pulls, containers, databases, routes] = await Promise.all([
      store.all(),
      deps.forge.listOpenPulls(deps.base),
      runtime.list(),
      deps.databases?.list() ?? Promise.resolve([]),
      deps.proxy?.routed() ?? Promise.resolve([]),
    ]);
    const actions = planReconcile({
      rows,
      pulls,
      parts: { containers: containers.map((c) => c.pr), databases, routes },
      now: now(),
      ttlMs: deps.settings.ttlMs,
    });
    for (const action of actions) {
      try {
        switch (action.kind) {
          case 'deploy':
          case 'wait': {
            const { pull } = action;
            const head = {
              pr: pull.number,
              headSha: pull.headSha,
              headRef: pull.headRef,
              author: pull.author,
              fork: pull.fork,
            };
            if (action.kind === 'wait') await wait(head);
            else await deployQueued(await store.request(head, 'queued', null, now()));
            break;
          }
          case 'close': {
            // Not in the list: closed, or retargeted away from develop. Asked once more, so a
            // list read mid-change never closes an open one; a read that fails (a 5xx, a rate
            // limit) closes nothing either (its data would go): the next poll asks again.
            const pull = await deps.forge.pullSummary(action.pr).catch((error: unknown) => {
              if (error instanceof NotFoundError) return 'gone' as const;
              log.warn(
                { pr: action.pr, err: deps.redact(String(error)) },
                'preview reconcile: could not read the pull request; not closing it',
              );
              return undefined;
            });
            if (pull === undefined) break;
            if (pull !== 'gone' && pull.state === 'open' && pull.baseRef === deps.base) break;
            await closeRow(action.pr);
            break;
          }
          case 'expire': {
            const hours = Math.round(deps.settings.ttlMs / 3_600_000);
            await stopRow(action.pr, `no push for ${hours} hours (PREVIEW_TTL_HOURS)`, false);
            log.info({ pr: action.pr }, 'preview stopped by the TTL');
            break;
          }
          case 'remove-container':
            await runtime.remove(jobs.names(action.pr));
            break;
          case 'drop-database':
            await deps.databases?.drop(jobs.names(action.pr));
            await deps.redis?.clear(jobs.names(action.pr));
            break;
          case 'unroute':
            await deps.proxy?.unroute(jobs.names(action.pr));
            break;
        }
      } catch (error) {
        // One preview's trouble never holds up the others'.
        log.warn(
          { action: action.kind, err: deps.redact(String(error)) },
          'preview reconcile: an action failed',
        );
      }
    }
    return `${actions.length} actions`;
  };

  /** The pull request an admin asks about, from the forge: refused with what to do when it cannot have a preview. */
  const pullFor = async (pr: number) => {
    if (!deps.forge) return { refused: 'GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO' };
    try {
      const pull = await deps.forge.pullSummary(pr);
      if (pull.state !== 'open') return { refused: `#${pr} is closed: reopen it to start its preview` };
      if (pull.baseRef !== deps.base)
        return {
          refused: `#${pr} is into ${pull.baseRef}: previews are for pull requests into ${deps.base}`,
        };
      return { pull };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      return { refused: `could not read #${pr} on GitHub (${deps.redact(text)}): try again` };
    }
  };

  /**
   * Start and redeploy: the pull request's head, approved by the admin. A fork's head (by
   * GitHub's word) is approved only as `expectedSha`, the commit the admin was shown (or
   * `approved`, the one approved before, for a redeploy): another head asks to confirm, and
   * a head that moved since it was shown is refused.
   */
  const short = (sha: string) => sha.slice(0, 7);
  const startAt = async (
    pr: number,
    by: PreviewActor,
    what: string,
    expectedSha: string | undefined,
    approved?: string | null,
  ): Promise<PreviewRequestOutcome> => {
    const found = await pullFor(pr);
    if (!found.pull) return { kind: 'refused', pr, text: found.refused };
    const { pull } = found;
    if (expectedSha !== undefined && pull.headSha !== expectedSha)
      return {
        kind: 'refused',
        pr,
        text: `its head moved from ${short(expectedSha)} to ${short(pull.headSha)} since it was shown: nothing was started. Send /previews again and look at the new head before starting it.`,
      };
    if (pull.fork && expectedSha === undefined && (!approved || approved !== pull.headSha)) {
      const head = { headSha: pull.headSha, headRef: pull.headRef, author: pull.author, fork: true };
      return { kind: 'confirm', pr, head };
    }
    const row = await store.request(
      { pr, headSha: pull.headSha, headRef: pull.headRef, author: pull.author, fork: pull.fork },
      'queued',
      null,
      now(),
      // An admin's start counts as a push: the TTL's next look must not stop it at once.
      true,
    );
    const approvedRow = await store.set(pr, { approvedSha: pull.headSha });
    log.info({ pr, by: by.userId, what, sha: short(pull.headSha) }, 'preview asked from chat');
    await deployQueued(approvedRow ?? row);
    return { kind: 'queued', pr };
  };

  return {
    async handleWebhook(delivery) {
      if (delivery.event !== 'pull_request') return;
      const event = pullRequestEvent(delivery.payload);
      if (!event) return;
      const row = await store.get(event.pr);
      const decision = decideDelivery(event, row, deps.base);
      log.debug({ pr: event.pr, action: event.action, decision: decision.kind }, 'preview: pull_request');
      const head = {
        pr: event.pr,
        headSha: event.headSha,
        headRef: event.headRef,
        author: event.author,
        fork: event.fork,
      };
      if (decision.kind === 'deploy') await deployQueued(await store.request(head, 'queued', null, now()));
      else if (decision.kind === 'wait') await wait(head);
      else if (decision.kind === 'close') await closeRow(event.pr);
    },

    async reconcile() {
      await queue.add({ kind: 'reconcile' });
    },

    async handle(data) {
      switch (data.kind) {
        case 'deploy':
          return jobs.deploy(data.pr, data.generation);
        case 'close':
          return jobs.close(data.pr, data.generation);
        case 'stop':
          return jobs.stop(data.pr, data.generation, data.dropData);
        case 'wait':
          return jobs.waiting(data.pr, data.generation);
        case 'reconcile':
          return reconcileNow();
      }
    },

    async list(): Promise<PreviewView[]> {
      const rows = (await store.all()).filter((r) => r.state !== 'closed');
      return Promise.all(
        rows.map(async (r) => ({
          ...r,
          health: await runtime.health(jobs.names(r.pr)).catch(() => 'missing' as const),
        })),
      );
    },

    start: (pr, by, expectedSha) => startAt(pr, by, 'start', expectedSha),

    async redeploy(pr, by) {
      const row = await store.get(pr);
      if (!row || row.state === 'closed')
        return { kind: 'refused', pr, text: `#${pr} has no preview: start it first` };
      return startAt(pr, by, 'redeploy', undefined, row.approvedSha);
    },

    async tearDown(pr, by) {
      const row = await store.get(pr);
      if (!row || row.state === 'closed')
        return { kind: 'refused', pr, text: `#${pr} has no preview to tear down` };
      await stopRow(pr, `torn down by ${by.name} from chat`, true, by.name);
      return { kind: 'queued', pr };
    },

    async logs(pr, lines = 50) {
      const n = jobs.names(pr);
      if ((await runtime.health(n).catch(() => 'missing')) === 'missing') return undefined;
      // Its own URLs' derived passwords are known to no redactor (withoutUrlPasswords).
      return (await runtime.logs(n, lines)).map((line) => withoutUrlPasswords(deps.redact(line)));
    },

    async counts() {
      const rows = (await store.all()).filter((r) => r.state !== 'closed');
      const running = rows.filter((r) => r.state === 'running').length;
      const failed = rows.filter((r) => r.state === 'failed').length;
      return { running, other: rows.length - running, failed, max: deps.settings.max };
    },
  };
}
