import type { AppEnv } from '../../config/environments.js';
import type { Logger } from '../../logger.js';
import type { Deployment, DeploymentStore } from '../../store/deployments.js';
import type { DeployNotifier, DeployStep } from '../deploy-notifier.js';
import type { ImageBuilder } from '../image-builder.js';
import type { ImageLedger } from '../image-ledger.js';
import type { ImageRegistry } from '../registry/image-registry.js';
import type { Preflight, Runtime, StepProgress, Switched, SwitchedSet } from '../runtime/runtime.js';
import type { ServiceSet } from '../service-set.js';
import type { SourceOfCommits } from '../source-of-commits.js';

/** One named step of a deploy; the step runner records and announces it. */
export interface Step {
  readonly name: DeployStep;
  /** Why this deploy has no such step: recorded as skipped, never announced. */
  skipWhy?(ctx: StepContext): string | undefined;
  run(ctx: StepContext): Promise<StepResult>;
  /**
   * On a run resumed after a crash, for a step an earlier run finished: puts what it found
   * back into `ctx` from its record (`detail`) and the row, and says whether its work still
   * stands. A step without it, or whose work is gone, runs again, and every step after it.
   */
  restore?(ctx: StepContext, detail: string | null): boolean;
}

export interface StepResult {
  readonly status: 'succeeded' | 'skipped';
  readonly detail?: string;
}

export const succeeded = (detail?: string): StepResult => ({ status: 'succeeded', detail });
/** Announced, then found to have nothing to do. */
export const skipped = (why: string): StepResult => ({ status: 'skipped', detail: why });

export interface StepSettings {
  /** Production: `pg_dump -Fc` before migrating; a string is why there is none (recorded as skipped). */
  readonly backup: ((sha: string) => Promise<string>) | string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly healthDeadlineMs: number;
  readonly verifyMs: number;
  readonly migrateTimeoutMs: number;
  /** Images of the environment kept by cleanup (the running and previous ones included). */
  readonly keepImages: number;
  /** A proxy fronts the app (DEPLOY_PROXY_ADMIN_URL): a service may take traffic with replicas. */
  readonly proxied?: boolean;
}

/** What the steps of one run of a deployment share: collaborators, then what earlier steps found. */
export interface StepContext {
  readonly deployment: Deployment;
  readonly env: AppEnv;
  readonly containerName: string;
  /**
   * A worker or runner died in this deployment before: the environment is converged first,
   * and the run resumes after the steps whose work still stands (see `Step.restore`).
   */
  readonly reattached: boolean;
  /**
   * A resumed run whose earlier run had verified the switch: the new version passed its
   * gates, so the steps up to verify are not done again.
   */
  switchVerified?: boolean;
  readonly runtime: Runtime;
  readonly builder: ImageBuilder;
  /** Which image each environment ran per build key; absent: images are not compared. */
  readonly images?: ImageLedger;
  /** DEPLOY_REGISTRY: the build step pushes there and `image` becomes the digest reference. */
  readonly registry?: ImageRegistry;
  readonly source: SourceOfCommits;
  readonly deployments: DeploymentStore;
  /** Hears a set's containers move on (`services`); the step runner's. */
  readonly notifier?: DeployNotifier;
  readonly settings: StepSettings;
  readonly log: Logger;
  /** Records how the running step goes and shows it in the deploy's message (the step runner's). */
  readonly progress?: StepProgress;
  /** Renews the deploy lock; fails when another holds it. For steps that must check it midway (the switch). */
  readonly holdLock?: () => Promise<void>;
  /** Tells GitHub, when the deploy came from a GitHub Deployment; never fails the deploy. */
  readonly reportToGitHub: (
    state: 'in_progress' | 'success' | 'failure' | 'error',
    text: string,
  ) => Promise<void>;
  sha?: string;
  /**
   * The services the commit declares (lugh.yml, read by resolve); undefined or not
   * `declared`: one service, the app container, deployed as before.
   */
  serviceSet?: ServiceSet;
  /** The image of each service of a declared set, by service name (the build step's). */
  serviceImages?: ReadonlyMap<string, string>;
  /**
   * The app service's image (for one service: the app container's): its local tag, or with
   * a registry the pushed digest reference `<registry>/<repository>@sha256:…`.
   */
  image?: string;
  /** The image's id and build key (tree and build arguments), when the commit's tree is known. */
  imageId?: string;
  buildKey?: string;
  tree?: string;
  previousSha?: string;
  preflight?: Preflight;
  switched?: Switched;
  /** A declared set's switch: the containers it replaced or created, in order. */
  switchedSet?: SwitchedSet;
  /**
   * Puts back what a step left half-done if the deploy stops before the next step takes
   * it over (a lost lock, a failed write); says what it did. A step that fails cleans up
   * after itself.
   */
  undo?: () => Promise<string | undefined>;
}

/** What an earlier step found; missing only if the steps ran out of order. */
export function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the deploy has no ${what} yet: its steps ran out of order`);
  return value;
}
