// What a preview job does, run by the queue's one worker (preview-queue.ts): deploy a head,
// close, stop. Each job re-reads its row and does nothing when the row has moved on to a
// newer generation (a newer head, a close, a stop). A failure of one preview touches no other.
import { BuildFailedError } from '../deployer/errors.js';
import type { ImageBuildRequest } from '../deployer/image-builder.js';
import { NotFoundError } from '../forge/errors.js';
import type { Forge, PullSummary } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import { withoutUrlPasswords } from '../redact.js';
import type { PreviewRow, PreviewStore } from '../store/previews.js';
import {
  type PreviewDatabases,
  type PreviewNames,
  type PreviewNotifier,
  type PreviewProxy,
  type PreviewRedis,
  type PreviewRuntime,
  PreviewUnhealthyError,
  previewImageTag,
  previewNames,
  previewUrl,
} from './preview.js';
import type { PreviewForge } from './preview-forge.js';
import { type HostRoom, shortOfRoom } from './preview-host-room.js';
import { capVictim, FORK_WAITS, IN_FLIGHT, previewEnv } from './preview-plan.js';
import type { PreviewQueue } from './preview-queue.js';

/** The PREVIEW_* settings a job reads (config.previews). */
export interface PreviewSettings {
  readonly urlTemplate?: string;
  readonly max: number;
  readonly ttlMs: number;
  readonly port: number;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly minFreeMemoryBytes: number;
  readonly minFreeDiskBytes: number;
  readonly dataNetwork?: string;
}

/** Everything the jobs drive; the service builds it once (preview-service.ts). */
export interface PreviewJobDeps {
  readonly settings: PreviewSettings;
  /** The namespace of every name (`''` for a real lugh; tests and the sandbox pass their own). */
  readonly namespace: string;
  readonly store: PreviewStore;
  readonly forge?: Forge;
  readonly github: PreviewForge;
  readonly runtime: PreviewRuntime;
  readonly databases?: PreviewDatabases;
  readonly redis?: PreviewRedis;
  readonly proxy?: PreviewProxy;
  /** The deploys' image builder (same cache): `ensure` with the preview's own tag. */
  readonly builder: { ensure(request: ImageBuildRequest): Promise<{ tag: string; imageId: string }> };
  readonly imageRepository: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly notifier?: PreviewNotifier;
  /** Where a stop the cap could not finish at once is queued again (the service's queue). */
  readonly queue?: Pick<PreviewQueue, 'add'>;
  readonly hostRoom: () => Promise<HostRoom>;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** How long a new container may take to become healthy, and a migration to run. */
  readonly healthDeadlineMs: number;
  readonly migrateTimeoutMs: number;
}

const short = (sha: string) => sha.slice(0, 7);

/**
 * Why it failed, in words, and the last lines of what failed: redacted, and without the
 * passwords of the preview's own URLs, which its output may carry and no redactor knows.
 */
function failureOf(error: unknown, redact: (t: string) => string): { reason: string; tail: string[] } {
  const message = error instanceof Error ? error.message : String(error);
  const tail =
    error instanceof PreviewUnhealthyError || error instanceof BuildFailedError ? [...error.logTail] : [];
  const clean = (text: string) => withoutUrlPasswords(redact(text));
  return { reason: clean(message), tail: tail.map(clean) };
}

export function createPreviewJobs(deps: PreviewJobDeps) {
  const { store, github, runtime, settings } = deps;
  const log = deps.logger.child({ component: 'previews' });
  const names = (pr: number): PreviewNames => previewNames(pr, deps.namespace);

  /** The pull request as the forge has it now; undefined when the forge cannot say (the row's head stands). */
  const pullNow = async (pr: number): Promise<PullSummary | 'gone' | undefined> => {
    if (!deps.forge) return undefined;
    try {
      return await deps.forge.pullSummary(pr);
    } catch (error) {
      if (error instanceof NotFoundError) return 'gone';
      log.warn(
        { pr, err: deps.redact(String(error)) },
        'preview: could not read the pull request; building the recorded head',
      );
      return undefined;
    }
  };

  /**
   * Removes what runs (container, route) and, with `dropData`, what it keeps (database,
   * role, Redis keys); then (unless `keepImages`) the images no container uses. Every part
   * is tried; the first failure is thrown after, so the job is tried again and nothing is
   * left half done.
   */
  const removeParts = async (pr: number, dropData: boolean, keepImages = false): Promise<void> => {
    const n = names(pr);
    const failures: unknown[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        log.warn({ pr, err: deps.redact(String(error)) }, `preview: could not remove its ${what}`);
        failures.push(error);
      }
    };
    await attempt('route', () => deps.proxy?.unroute(n) ?? Promise.resolve());
    await attempt('container', () => runtime.remove(n));
    if (dropData) {
      await attempt('database', () => deps.databases?.drop(n) ?? Promise.resolve());
      await attempt('Redis keys', () => deps.redis?.clear(n) ?? Promise.resolve());
    }
    if (!keepImages) await attempt('images', () => runtime.pruneImages());
    if (failures.length) throw failures[0];
  };

  /** Stops a preview whose row was already moved to stopped (or closed) at `generation`. */
  const stopNow = async (
    row: PreviewRow,
    dropData: boolean,
    headline: string,
    detail: string[],
    keepImages = false,
  ): Promise<void> => {
    await removeParts(row.pr, dropData, keepImages);
    const done = await store.set(row.pr, { runningSha: null, url: null });
    await github.status(row.pr, row.forgeDeploymentId, 'inactive', headline);
    if (done) await github.comment(done, { headline, detail });
  };

  /**
   * Says on its pull request that a fork's head waits for an admin. Queued by the delivery,
   * so that only the worker writes the comment (two writers could each make one).
   */
  const waiting = async (pr: number, generation: number): Promise<string> => {
    const row = await store.get(pr);
    if (!row || row.generation !== generation || row.state !== 'stopped') return 'superseded';
    await github.comment(row, {
      headline: `waiting for an admin (${short(row.headSha)})`,
      detail: [FORK_WAITS],
    });
    return 'waiting';
  };

  const close = async (pr: number, generation: number): Promise<string> => {
    const row = await store.get(pr);
    if (!row || row.generation !== generation || row.state !== 'closed') return 'superseded';
    await stopNow(row, true, 'closed: the preview is gone', [
      'Its container, database, role and Redis keys were removed.',
    ]);
    log.info({ pr }, 'preview closed');
    return 'closed';
  };

  const stop = async (pr: number, generation: number, dropData: boolean): Promise<string> => {
    const row = await store.get(pr);
    if (!row || row.generation !== generation || row.state !== 'stopped') return 'superseded';
    await stopNow(row, dropData, `stopped: ${row.reason ?? 'stopped'}`, [
      dropData
        ? 'Its container, database and Redis keys were removed. An admin can start it again from chat (/previews).'
        : 'Its container was removed; its database is kept. Push to this pull request, or an admin can start it from chat (/previews).',
    ]);
    return 'stopped';
  };

  /** Moves the row (at its generation) to closed and removes everything: the PR is closed. */
  const closeFound = async (row: PreviewRow): Promise<string> => {
    const closed = await store.bump(row.pr, { state: 'closed', reason: 'pull request closed' });
    return closed ? close(row.pr, closed.generation) : 'superseded';
  };

  /**
   * Makes room under PREVIEW_MAX: stops the preview idle longest, saying why on its pull
   * request. Run once the new head is built and migrated (a head that fails before stops
   * nothing). A stop that fails here fails not the new head: it is queued as a `stop` job,
   * tried again until done.
   */
  const makeRoom = async (pr: number): Promise<void> => {
    const victim = capVictim(await store.all(), pr, settings.max);
    if (!victim) return;
    const reason = `stopped to make room for #${pr}: at most ${settings.max} previews run at once (PREVIEW_MAX), and this one had gone longest without a push`;
    const stopped = await store.bump(victim.pr, { state: 'stopped', reason, stoppedBy: null });
    if (!stopped) return;
    log.info({ pr: victim.pr, for: pr }, 'preview stopped by the cap');
    try {
      // Images are pruned once the new head runs (run): now, its image has no container yet.
      await stopNow(
        stopped,
        false,
        `stopped: ${reason}`,
        [
          'Its database is kept. Push to this pull request, or an admin can start it again from chat (/previews).',
        ],
        true,
      );
    } catch (error) {
      log.warn(
        { pr: victim.pr, err: deps.redact(String(error)) },
        'preview: the cap could not stop it at once; its stop is queued',
      );
      await deps.queue
        ?.add({ kind: 'stop', pr: victim.pr, generation: stopped.generation, dropData: false })
        .catch((e: unknown) =>
          log.warn({ err: deps.redact(String(e)) }, 'preview: could not queue the stop'),
        );
    }
  };

  const deploy = async (pr: number, generation: number): Promise<string> => {
    let row = await store.get(pr);
    // A job BullMQ hands on after its worker died finds its row mid-way: it runs again from
    // the start (the image is found again, database and Redis are ensured, replace is health-gated).
    if (!row || row.generation !== generation || !IN_FLIGHT.includes(row.state)) return 'superseded';
    const pull = await pullNow(pr);
    if (pull === 'gone' || pull?.state === 'closed') return closeFound(row);
    if (pull && pull.headSha !== row.headSha) {
      // Pushed again since it was queued: build the newest (its delivery then finds this head).
      const moved = await store.request(
        { pr, headSha: pull.headSha, headRef: pull.headRef, author: pull.author, fork: pull.fork },
        'queued',
        null,
        new Date(),
      );
      if (moved.generation !== generation + 1) return 'superseded';
      row = moved;
      generation = moved.generation;
    }
    if (row.fork && row.approvedSha !== row.headSha) {
      const waiting = await store.advance(pr, generation, { state: 'stopped', reason: FORK_WAITS });
      if (!waiting) return 'superseded';
      // The head an admin approved before stops too: the row says stopped, nothing runs.
      if (waiting.runningSha)
        await stopNow(waiting, false, `waiting for an admin (${short(row.headSha)})`, [FORK_WAITS]);
      else
        await github.comment(waiting, {
          headline: `waiting for an admin (${short(row.headSha)})`,
          detail: [FORK_WAITS],
        });
      return 'waiting';
    }
    const short_ = shortOfRoom(await deps.hostRoom(), {
      memoryBytes: settings.minFreeMemoryBytes,
      diskBytes: settings.minFreeDiskBytes,
    });
    if (short_) {
      // The version before (if one runs) serves on: the head failed to start, nothing stopped.
      const stopped = await store.advance(pr, generation, {
        state: row.runningSha ? 'failed' : 'stopped',
        reason: short_,
      });
      if (stopped) {
        await github.comment(stopped, {
          headline: `not started: ${short_}`,
          detail: ['Push again, or an admin can start it from chat (/previews), once the host has room.'],
        });
        await deps.notifier?.failed(stopped, short_, []).catch(() => {});
      }
      return 'no room';
    }
    return run(row, generation);
  };

  /** Builds, migrates, starts health-gated and routes the row's head. */
  const run = async (queued: PreviewRow, generation: number): Promise<string> => {
    const { pr, headSha: sha } = queued;
    const n = names(pr);
    const building = await store.advance(pr, generation, { state: 'building', reason: null });
    if (!building) return 'superseded';
    // The deployment of the head that serves now, if another: inactive once this one is healthy.
    const previous =
      building.forgeDeploymentId !== undefined && building.forgeDeploymentSha !== sha
        ? { forgeDeploymentId: building.forgeDeploymentId, forgeDeploymentSha: building.forgeDeploymentSha }
        : undefined;
    const deploymentId = await github.deploymentFor(building);
    // A newer request took over before this head ran: its deployment is not left in_progress.
    const superseded = async () => {
      await github.status(pr, deploymentId, 'inactive', 'superseded by a newer request');
      return 'superseded';
    };
    await github.status(pr, deploymentId, 'in_progress', `building ${short(sha)}`);
    await github.comment(building, { headline: `building ${short(sha)}…` });
    try {
      const forge = deps.forge;
      if (!forge) throw new Error('GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO');
      const tree = await forge.commitTree(sha).catch(() => undefined);
      const image = await deps.builder.ensure({
        env: 'staging',
        sha,
        tree,
        tarball: () => forge.tarball(sha),
        buildArgs: deps.buildArgs,
        tag: previewImageTag(deps.imageRepository, n, sha),
      });
      const database = await deps.databases?.ensure(n);
      const redis = await deps.redis?.ensure(n);
      const templateUrl = settings.urlTemplate ? previewUrl(settings.urlTemplate, pr) : undefined;
      const env = previewEnv({
        names: n,
        sha,
        port: settings.port,
        url: templateUrl ?? '',
        databaseUrl: database?.url,
        redis,
      });
      const spec = {
        names: n,
        image: image.tag,
        sha,
        env,
        port: settings.port,
        memoryBytes: settings.memoryBytes,
        nanoCpus: settings.nanoCpus,
        dataNetwork: settings.dataNetwork,
      };
      if (!(await store.advance(pr, generation, { state: 'migrating' }))) return superseded();
      await runtime.migrate(spec, deps.migrateTimeoutMs);
      if (!(await store.advance(pr, generation, { state: 'starting' }))) return superseded();
      await makeRoom(pr);
      const proxy = deps.proxy;
      // Routed to the new container before the old one goes (replace's onHealthy): no gap.
      const started = await runtime.replace(spec, deps.healthDeadlineMs, async (healthy) => {
        if (proxy && templateUrl) await proxy.route(n, healthy.upstream);
      });
      const url = proxy && templateUrl ? templateUrl : `http://${started.upstream}/`;
      // What runs is recorded whatever came meanwhile: a newer job replaces or removes it.
      await store.set(pr, { runningSha: sha, url });
      const running = await store.advance(pr, generation, { state: 'running', reason: null });
      if (!running) return 'superseded';
      await github.status(pr, deploymentId, 'success', `running ${short(sha)}`, url);
      if (previous && previous.forgeDeploymentId !== deploymentId)
        await github.status(pr, previous.forgeDeploymentId, 'inactive', `superseded by ${short(sha)}`);
      await github.comment(running, { headline: `running at ${url}` });
      log.info({ pr, sha: short(sha), url }, 'preview running');
      // The head replaced runs nowhere now: its image goes (unless an environment uses it).
      await runtime
        .pruneImages()
        .catch((error: unknown) =>
          log.warn({ pr, err: deps.redact(String(error)) }, 'preview: could not remove old images'),
        );
      return 'running';
    } catch (error) {
      const { reason, tail } = failureOf(error, deps.redact);
      log.warn({ pr, sha: short(sha), reason }, 'preview failed to start');
      const failed = await store.advance(pr, generation, { state: 'failed', reason });
      await github.status(pr, deploymentId, 'failure', reason);
      if (!failed) return 'superseded';
      // The version before serves on: the row keeps its deployment, which a close or the next
      // healthy head marks inactive.
      if (previous && failed.runningSha === previous.forgeDeploymentSha) await store.set(pr, previous);
      await github.comment(failed, {
        headline: `failed at ${short(sha)}`,
        detail: [
          `Why: ${reason}`,
          ...(failed.runningSha ? [`The previous version (${short(failed.runningSha)}) serves on.`] : []),
          ...(tail.length ? ['```', ...tail.slice(-10), '```'] : []),
          'Push a fix, or an admin can redeploy it from chat (/previews).',
        ],
      });
      await deps.notifier
        ?.failed(failed, reason, tail)
        .catch((e: unknown) => log.warn({ err: String(e) }, 'preview: could not notify'));
      return 'failed';
    }
  };

  return { deploy, close, stop, waiting, removeParts, names };
}

export type PreviewJobs = ReturnType<typeof createPreviewJobs>;
