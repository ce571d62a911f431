/**
 * A deployment as its row reads: the record's shape, and its status words (finished,
 * under way).
 */
import type { AppEnv } from '../config/environments.js';

const ENDED = new Set(['succeeded', 'failed', 'rolled_back', 'cancelled']);

/** A deployment that has ended, one way or another. */
export const isFinished = (status: string): boolean => ENDED.has(status);

/** Queued or running: a deploy under way (see `unfinished`). */
export const inProgress = (status: string): boolean => status === 'queued' || status === 'running';

/**
 * Where a deployment's image came from, compared with the environment upstream (staging,
 * for production): the very image it ran (since when, from which of its deployments), or
 * a build of its own and why.
 */
export type ImageOrigin =
  | {
      readonly kind: 'reused';
      readonly fromEnv: AppEnv;
      readonly fromDeployment: number;
      readonly since: Date;
    }
  | { readonly kind: 'built' | 'rebuilt' | 'kept' };

/** What the build step knows of the image a deployment runs, besides its tag. */
export interface DeploymentImage {
  readonly imageId: string;
  /** The commit's git tree, when the forge said. */
  readonly tree?: string;
  /** Compared with the environment upstream; undefined when nothing was compared. */
  readonly origin?: ImageOrigin;
}

/**
 * What a promotion's production report tells besides the deploy itself, carried by the
 * handoff from staging. Display only: never a reason to deploy (the signed claims are).
 */
export interface DeploymentContext {
  readonly promotionId?: number;
  readonly pr?: { readonly number: number; readonly url?: string };
  readonly release?: { readonly tag: string; readonly url?: string };
  /** Telegram names, as every message says them: `@ada`. */
  readonly promotedBy?: string;
  readonly approvedBy?: string;
  /** From the pull request's CI starting to its last check passing. */
  readonly ciMs?: number;
  /** When the oldest commit the promotion shipped was written (ISO 8601): /delivery's lead time. */
  readonly firstCommitAt?: string;
  /** The promoted head commit's title (its message's first line): /delivery's fix-forwards. */
  readonly headTitle?: string;
  /** When the promotion was approved (ISO, from the signed handoff). */
  readonly approvedAt?: string;
}

export interface Deployment {
  readonly id: number;
  readonly env: AppEnv;
  readonly ref: string;
  readonly sha: string | null;
  /** baseline: the release found running when lugh first started (recordFirstRelease); nothing ran. */
  readonly trigger: 'promotion' | 'push' | 'manual' | 'rollback' | 'baseline';
  readonly requestedBy: number | null;
  /** Their Telegram name (`@ada`), when it was recorded. */
  readonly requestedByName?: string | null;
  /** A promotion's: what its report tells (PR, release, people, CI). */
  readonly context?: DeploymentContext | null;
  readonly status: string;
  readonly jobId: string | null;
  readonly chatId: number | null;
  readonly progressMessageId: number | null;
  readonly githubDeploymentId: number | null;
  readonly image: string | null;
  readonly imageId: string | null;
  readonly treeSha: string | null;
  readonly imageOrigin: ImageOrigin | null;
  readonly previousSha: string | null;
  readonly step: string | null;
  readonly error: string | null;
  readonly confirmExpiresAt: Date | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** The service set it deploys, as recorded by `setServices` (null: one service, the app container). */
  readonly services?: unknown;
  /** The image of each service of that set, by service name (`setServiceImages`). */
  readonly serviceImages?: Readonly<Record<string, string>> | null;
  /**
   * A rollback of this one service of the set alone (`/rollback <service> alone`): only its
   * containers move. Such a deployment is not a release of the environment (`releases`,
   * `runningSha` skip it). Null: the whole environment.
   */
  readonly onlyService?: string | null;
}

const numberOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function imageOriginOf(r: Record<string, unknown>): ImageOrigin | null {
  const kind = r.image_origin as string | null | undefined;
  if (kind === 'reused')
    return {
      kind,
      fromEnv: r.image_reused_from_env as AppEnv,
      fromDeployment: Number(r.image_reused_from_deployment),
      since: r.image_reused_since as Date,
    };
  return kind === 'built' || kind === 'rebuilt' || kind === 'kept' ? { kind } : null;
}

export function toDeployment(r: Record<string, unknown>): Deployment {
  return {
    id: Number(r.id),
    env: r.env as AppEnv,
    ref: r.ref as string,
    sha: (r.sha as string | null) ?? null,
    trigger: r.trigger as Deployment['trigger'],
    requestedBy: numberOrNull(r.requested_by),
    requestedByName: (r.requested_by_name as string | null | undefined) ?? null,
    context: (r.context as DeploymentContext | null | undefined) ?? null,
    status: r.status as string,
    jobId: (r.job_id as string | null) ?? null,
    chatId: numberOrNull(r.chat_id),
    progressMessageId: numberOrNull(r.progress_message_id),
    githubDeploymentId: numberOrNull(r.github_deployment_id),
    image: (r.image as string | null) ?? null,
    imageId: (r.image_id as string | null) ?? null,
    treeSha: (r.tree_sha as string | null) ?? null,
    imageOrigin: imageOriginOf(r),
    previousSha: (r.previous_sha as string | null) ?? null,
    step: (r.step as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    confirmExpiresAt: (r.confirm_expires_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
    services: r.services ?? null,
    serviceImages: (r.service_images as Record<string, string> | null | undefined) ?? null,
    onlyService: (r.only_service as string | null | undefined) ?? null,
  };
}
