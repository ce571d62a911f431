// What a preview environment is, as the rest of lugh sees it: the names of its parts, its
// record, and the interfaces of the parts that run it. The service (preview-service.ts)
// decides; the parts (Docker, Postgres, Redis, the proxy) only do what they are told.

import type { PreviewRow, PreviewRowState } from '../store/previews.js';

/** Every name a preview's parts carry, from its pull request number (and a namespace tests and the sandbox use). */
export interface PreviewNames {
  readonly pr: number;
  /** '' for a real lugh's previews. */
  readonly namespace: string;
  /** `lugh-preview-pr-<n>` (`<namespace>-preview-pr-<n>` with a namespace). */
  readonly container: string;
  /** `lugh-preview-pr-<n>-net`. */
  readonly network: string;
  /** `preview_pr_<n>` (`<namespace>_preview_pr_<n>`): its database, owned by the role of the same name. */
  readonly database: string;
  readonly role: string;
  /** `preview:pr<n>:`: every Redis key the preview may touch starts with it. */
  readonly redisPrefix: string;
  /** The Redis ACL user limited to that prefix (previews get Redis only as it). */
  readonly redisUser: string;
  /** The id of its route in the proxy's configuration (Caddy `@id`). */
  readonly routeId: string;
  /** The label every Docker object of it carries: `lugh.preview=<namespace or lugh>`, with `lugh.preview.pr=<n>`. */
  readonly labels: Readonly<Record<string, string>>;
}

const slug = (namespace: string) =>
  namespace
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');

/** What the container, network and route id of a namespace's previews start with: `lugh-preview-pr-`. */
export function previewDashPrefix(namespace = ''): string {
  return namespace ? `${namespace}-preview-pr-` : 'lugh-preview-pr-';
}

/** What the database, role and Redis user of a namespace's previews start with: `preview_pr_`. */
export function previewUnderscorePrefix(namespace = ''): string {
  return namespace ? `${slug(namespace)}_preview_pr_` : 'preview_pr_';
}

/** The value of the `lugh.preview` label every Docker object of a namespace's previews carries. */
export function previewLabel(namespace = ''): string {
  return namespace || 'lugh';
}

/** The names of preview `pr`; `namespace` keeps a test's or a sandbox's previews apart from a real lugh's. */
export function previewNames(pr: number, namespace = ''): PreviewNames {
  if (!Number.isInteger(pr) || pr < 1) throw new Error(`a preview needs a pull request number, got ${pr}`);
  const dash = `${previewDashPrefix(namespace)}${pr}`;
  const under = `${previewUnderscorePrefix(namespace)}${pr}`;
  const redis = namespace ? `preview:${slug(namespace)}:pr${pr}:` : `preview:pr${pr}:`;
  return {
    pr,
    namespace,
    container: dash,
    network: `${dash}-net`,
    database: under,
    role: under,
    redisPrefix: redis,
    redisUser: under,
    routeId: dash,
    labels: { 'lugh.preview': previewLabel(namespace), 'lugh.preview.pr': String(pr) },
  };
}

/**
 * The tag prefix of every preview image of a namespace: `<repository>:preview-pr-`
 * (`<repository>:<namespace>-preview-pr-`); one preview's images go on with `<n>-<sha12>`.
 */
export function previewTagPrefix(repository: string, namespace = ''): string {
  return `${repository}:${namespace ? `${namespace}-` : ''}preview-pr-`;
}

/** The tag prefix of a preview's images: `<repository>:preview-pr-<n>-` (`<namespace>-preview-pr-<n>-`). */
export function previewImageTagPrefix(repository: string, names: PreviewNames): string {
  return `${previewTagPrefix(repository, names.namespace)}${names.pr}-`;
}

/** The tag of a preview's image at `sha`. */
export function previewImageTag(repository: string, names: PreviewNames, sha: string): string {
  return `${previewImageTagPrefix(repository, names)}${sha.slice(0, 12)}`;
}

/** The forge environment of a preview. */
export const previewEnvironment = (pr: number): string => `preview/pr-${pr}`;

/** The URL of preview `pr` from PREVIEW_URL_TEMPLATE. */
export function previewUrl(template: string, pr: number): string {
  return template.replaceAll('{n}', String(pr));
}

/**
 * Where a preview is in its life. `queued`: a job is on the queue; `building`, `migrating`,
 * `starting`: its job runs (the previous container, if any, still serves); `running`:
 * healthy at its URL; `failed`: the last start failed (the previous one, if any, serves
 * on: `container` says); `stopped`: stopped by the cap, the TTL, short memory or disk, or
 * an admin, and can be started again; `closed`: its pull request closed, everything removed.
 */
export type PreviewState = PreviewRowState;

/** One preview's row (store/previews.ts, where each field says what it holds), less what only the lifecycle reads. */
export type PreviewRecord = Omit<
  PreviewRow,
  'generation' | 'approvedSha' | 'stoppedBy' | 'forgeDeploymentSha'
>;

/** A preview's container's health as the runtime sees it now. */
export type PreviewHealth = 'healthy' | 'unhealthy' | 'starting' | 'missing';

/** What a preview container runs: the image, its environment and limits. */
export interface PreviewContainerSpec {
  readonly names: PreviewNames;
  /** The image reference (tag or id) built for the head commit. */
  readonly image: string;
  readonly sha: string;
  /** Its whole environment: PORT, DATABASE_URL, REDIS_URL, REDIS_PREFIX, APP_ENV=preview, PUBLIC_URL, … */
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  /** A network it joins besides its own (staging's data network), if any. */
  readonly dataNetwork?: string;
}

/** A preview container that runs healthy, and how the proxy reaches it. */
export interface StartedPreview {
  readonly containerId: string;
  /** host:port the proxy dials (the container's address on its own network), or 127.0.0.1:<published port>. */
  readonly upstream: string;
}

/** A new container that never became healthy: why, and its last lines. */
export class PreviewUnhealthyError extends Error {
  constructor(
    message: string,
    readonly logTail: readonly string[],
  ) {
    super(message);
    this.name = 'PreviewUnhealthyError';
  }
}

/** The Docker side of previews (preview-runtime.ts). */
export interface PreviewRuntime {
  /**
   * Starts a new container beside the one running (if any) on the preview's own network
   * (created if missing) and waits up to `deadlineMs` for its health (Docker's health check
   * and the app's /healthz); once healthy, the old one is removed. A new one never healthy
   * is removed, the old one left serving, and PreviewUnhealthyError thrown.
   * `onHealthy` (optional) runs once the new one is healthy and BEFORE the old one is
   * removed: the service points the proxy at the new upstream there, so no request finds
   * neither (the new container has another address than the old). If it throws, the new
   * one is removed, the old one left serving, and the error rethrown.
   */
  replace(
    spec: PreviewContainerSpec,
    deadlineMs: number,
    onHealthy?: (started: StartedPreview) => Promise<void>,
  ): Promise<StartedPreview>;
  /** Runs the image's `lugh.migrate` command in a one-off container with the preview's environment; `none` when the image declares none. */
  migrate(spec: PreviewContainerSpec, timeoutMs: number): Promise<'none' | 'done'>;
  /** Removes its containers and network (and the proxy container's attachment); nothing there is no error. */
  remove(names: PreviewNames): Promise<void>;
  health(names: PreviewNames): Promise<PreviewHealth>;
  logs(names: PreviewNames, lines: number): Promise<string[]>;
  /** Every preview container of this namespace that exists, by pull request number. */
  list(): Promise<{ readonly pr: number; readonly containerId: string; readonly running: boolean }[]>;
  /**
   * Deletes the images built for this namespace's previews that no container runs: their
   * preview tags, then their sha/tree tags unless an environment's (or another preview's)
   * tag is on the image too (staging may run the same tree's image). The tags removed.
   */
  pruneImages(): Promise<string[]>;
}

/** A preview's database and role on staging's server (preview-database.ts). */
export interface PreviewDatabases {
  /** Creates the role (its password derived, never stored) and the database it owns, if missing; the URL the preview connects with. */
  ensure(names: PreviewNames): Promise<{ readonly url: string }>;
  /** Ends its connections and drops the database and the role; nothing there is no error. */
  drop(names: PreviewNames): Promise<void>;
  /** The preview databases that exist in this namespace, by pull request number. */
  list(): Promise<number[]>;
}

/** A preview's Redis prefix (preview-redis.ts). */
export interface PreviewRedis {
  /** The URL (its own ACL user's) and prefix the preview gets; `acl` is always true now (kept for callers), else it throws PreviewRedisError. */
  ensure(
    names: PreviewNames,
  ): Promise<{ readonly url: string; readonly prefix: string; readonly acl: boolean }>;
  /** Deletes every key under the prefix and the ACL user; how many keys went. */
  clear(names: PreviewNames): Promise<number>;
}

/** The reverse proxy in front of previews (caddy-proxy.ts); without one, the published port is the URL. */
export interface PreviewProxy {
  /** Routes the preview's URL (PREVIEW_URL_TEMPLATE's, for `names.pr`) to `upstream`, replacing its route if there is one. */
  route(names: PreviewNames, upstream: string): Promise<void>;
  unroute(names: PreviewNames): Promise<void>;
  /** The previews routed now, by pull request number. */
  routed(): Promise<number[]>;
}

/** A preview as /previews lists it: its record and its container's health now. */
export interface PreviewView extends PreviewRecord {
  readonly health: PreviewHealth;
  /** Its pull request's page, when known (the chat links the number to it). */
  readonly prUrl?: string;
}

/** Who asked, from chat (admins only: the bot checks before it asks). */
export interface PreviewActor {
  readonly userId: number;
  readonly name: string;
}

/** What became of a request from chat: queued, or refused with words that say what to do. */
export type PreviewRequestOutcome =
  | { readonly kind: 'queued'; readonly pr: number }
  | { readonly kind: 'refused'; readonly pr: number; readonly text: string }
  /**
   * A fork's head (untrusted code) nobody approved: nothing was done; ask the admin, showing
   * `head.headSha`, and start(pr, by, head.headSha) on Yes.
   */
  | { readonly kind: 'confirm'; readonly pr: number; readonly head: PreviewHead };

/** A pull request's head as GitHub says it now: what a fork's confirmation shows. */
export interface PreviewHead {
  readonly headSha: string;
  readonly headRef: string;
  readonly author: string;
  readonly fork: boolean;
}

/** What the bot asks of previews (preview-service.ts implements it). */
export interface Previews {
  /** Every preview not closed, oldest first. */
  list(): Promise<PreviewView[]>;
  /**
   * Starts (or starts again) a preview at its pull request's head. A fork's (by GitHub's
   * word, not the table's) starts only with `expectedSha`, the head the admin was shown and
   * approved: refused when the head is another now; without it, `confirm`.
   */
  start(pr: number, by: PreviewActor, expectedSha?: string): Promise<PreviewRequestOutcome>;
  /** Builds and replaces it again at its pull request's head, health-gated; a fork's past its approved head: `confirm`. */
  redeploy(pr: number, by: PreviewActor): Promise<PreviewRequestOutcome>;
  /** Stops it and removes its container, database, role and Redis keys; its pull request stays open. */
  tearDown(pr: number, by: PreviewActor): Promise<PreviewRequestOutcome>;
  /** Its container's last lines; undefined when no container runs. */
  logs(pr: number, lines?: number): Promise<string[] | undefined>;
  /**
   * For /status: how many run, how many are in another state (not closed), and the cap;
   * `failed`, when given, is how many of `other` failed (/status names them).
   */
  counts(): Promise<{
    readonly running: number;
    readonly other: number;
    readonly max: number;
    readonly failed?: number;
  }>;
}

/** How the chat hears of previews (the bot's notifications implement it, through the outbox). */
export interface PreviewNotifier {
  /** A preview failed to start (the notify chat hears it): why, and its last lines. */
  failed(preview: PreviewRecord, reason: string, logTail: readonly string[]): Promise<void>;
}
