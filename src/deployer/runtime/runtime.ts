import type { ServiceState } from '../../store/deployment-services.js';
import type { SwitchPlan } from '../container-plan.js';
import type { RolledBackError } from '../errors.js';
import type { Route } from '../proxy/upstream.js';
import type { Service, ServiceContainer, ServiceSet } from '../service-set.js';

/**
 * What the deploy steps ask of the engine that runs the app (DESIGN §4: Docker today,
 * Swarm next). Each switch phase is its own call so that each is its own step; the
 * handles they pass on are plain data.
 */
export interface Runtime {
  /** Which runtime this is (DEPLOY_RUNTIME), for messages that name it. */
  readonly name?: 'docker' | 'swarm';
  /** Fails with what to do when the container a deploy would replace does not exist. */
  requireContainer(containerName: string): Promise<void>;
  /** The last `lines` lines the app printed. */
  logs(containerName: string, lines: number): Promise<string[]>;
  /** The commit the app runs, if it says. */
  runningSha(containerName: string): Promise<string | undefined>;
  /** Images of the app and of the previous version kept for rollback. */
  imagesInUse(containerName: string): Promise<string[]>;
  /**
   * Back to exactly one running app after a killed deploy; what it did, or undefined.
   * `unverified`: the deploy had started a switch that was never verified; the container
   * it replaced (`replacedId`, at `replacedSha` when recorded) runs again, even in place of a
   * running new one. (Swarm: `replacedId` is the image reference the service ran.)
   */
  converge(
    containerName: string,
    unverified?: { readonly replacedId: string; readonly replacedSha?: string },
  ): Promise<string | undefined>;
  /**
   * After a crash, before `converge` puts an unverified switch back: the switch an
   * orchestrator carried out on its own while the deploy's process was gone (Swarm completes
   * the update that replaced the very task following it), as the handle verify watches;
   * undefined when there is none. Optional: Docker's switch is lugh's own and never is.
   */
  completedSwitch?(
    containerName: string,
    replaced: { readonly image: string; readonly sha?: string },
    /** The deployment's commit, and when its start step (which issued the switch) began. */
    target: { readonly sha: string; readonly since?: Date },
  ): Promise<Switched | undefined>;
  /** Runs the migration the image declares; undefined when it declares none. */
  runMigration(opts: MigrationTarget): Promise<{ command: string[]; logTail: string[] } | undefined>;
  /** Starts the new version beside the running one, taking no traffic. */
  startPreflight(target: SwitchTarget): Promise<Preflight>;
  /**
   * Waits for the pre-flight to become healthy, then removes it either way; with a proxy in
   * front, a healthy one stays to serve during the switch (switchOver removes it).
   */
  awaitPreflight(preflight: Preflight, deadlineMs: number, progress?: StepProgress): Promise<void>;
  removePreflight(preflight: Preflight): Promise<void>;
  /**
   * Stops the running version and starts the new one in its place; rolls back if it is not
   * healthy, or if `holdLock` (asked between the phases) fails: the deploy lost its lock.
   */
  switchOver(
    preflight: Preflight,
    deadlineMs: number,
    holdLock?: () => Promise<void>,
    progress?: StepProgress,
  ): Promise<Switched>;
  /** The new version must stay healthy through the window, or it is rolled back. */
  verify(switched: Switched, windowMs: number, progress?: StepProgress): Promise<void>;
  /** Puts the previous version back; the error says why, with the new version's last lines. */
  rollback(switched: Switched, reason: string): Promise<RolledBackError>;

  // A service set (lugh.yml). Optional: a runtime without them deploys one service only.

  /**
   * Replaces the set's containers one at a time in `containersOf` order, each as one
   * container is (pre-flight, gate, switch); a container the set has not yet is started
   * fresh. A container that fails puts back every one this call switched, in reverse order.
   */
  switchSet?(
    target: SetTarget,
    deadlineMs: number,
    progress: SetProgress,
    holdLock?: () => Promise<void>,
  ): Promise<SwitchedSet>;
  /** Every switched container must stay healthy through the window, watched together, or the set goes back. */
  verifySet?(switched: SwitchedSet, windowMs: number, progress: SetProgress): Promise<void>;
  /** The whole set back to what it replaced, in reverse order (new containers removed). */
  rollbackSet?(switched: SwitchedSet, reason: string, progress: SetProgress): Promise<RolledBackError>;
  /** After a crash: each container as its record says (see SetMemberRecord), then one running each. */
  convergeSet?(members: readonly SetMemberRecord[]): Promise<string | undefined>;
  /** Removes the set's containers (`lugh.set=<containerName>`) not named in `keep`; their names. */
  removeStrays?(containerName: string, keep: readonly string[]): Promise<string[]>;
}

export interface SwitchTarget {
  readonly containerName: string;
  readonly image: string;
  readonly sha: string;
  /** A container of a service set: its service's lugh.yml settings apply over its snapshot. */
  readonly member?: SetMember;
}

/** One container of a service set, as its switch needs it. */
export interface SetMember {
  readonly service: Service;
  readonly container: ServiceContainer;
  /** The app container (DEPLOY_CONTAINER) the set's names derive from. */
  readonly setName: string;
  /** Where a proxy sends this replica's share of the service's traffic; none: it takes none. */
  readonly route?: Route;
}

/** A set deploy: every container of `set`, each with its service's image, at `sha`. */
export interface SetTarget {
  readonly containerName: string;
  readonly set: ServiceSet;
  readonly images: ReadonlyMap<string, string>;
  readonly sha: string;
}

/**
 * Hears how the running step goes, in a few words (`updating 1/2 tasks`): recorded as the
 * step's detail and shown in the deploy's message. A runtime that switches in one move
 * (Docker) says nothing.
 */
export type StepProgress = (detail: string) => Promise<void>;

/** Hears each container of a set move on (recorded per container, see deployment-services.ts). */
export type SetProgress = (
  container: ServiceContainer,
  state: ServiceState,
  detail?: string,
) => Promise<void>;

/** A container of the set this deployment switched: from `switched.currentId`, or new (`createdId`). */
export interface SwitchedMember {
  readonly member: SetMember;
  readonly switched?: Switched;
  readonly createdId?: string;
}

/** The containers a set deploy switched, in the order it switched them. */
export interface SwitchedSet {
  readonly target: SetTarget;
  readonly members: readonly SwitchedMember[];
}

/** What a crashed set deploy did to one container, as its record says (see `switchSet`). */
export interface SetMemberRecord {
  readonly name: string;
  readonly route?: Route;
  /** Switched in this deployment, unverified: the container it replaced runs again. */
  readonly replacedId?: string;
  /** Created in this deployment, unverified: it goes. */
  readonly created?: boolean;
}

export interface MigrationTarget extends SwitchTarget {
  readonly timeoutMs: number;
}

/**
 * A new version started beside the running one (`currentId`), not yet gated. Docker: `id`
 * is the pre-flight container, `currentId` the running container, and `plan`/`networks`
 * the containers the switch creates. Swarm: `id` is the service update's token (its new
 * tasks carry it), `currentId` the image reference the service ran before it.
 */
export interface Preflight {
  readonly target: SwitchTarget;
  readonly id: string;
  readonly currentId: string;
  readonly plan?: SwitchPlan;
  readonly networks?: ReadonlyArray<readonly [string, readonly string[]]>;
}

/**
 * The new version (`nextId`) runs under the app's name; the previous one is kept for a
 * rollback: Docker's stopped container `previousName`; Swarm's service keeps it as its
 * previous spec (`nextId`: the update's token, `currentId`: the image it replaced).
 */
export interface Switched {
  readonly target: SwitchTarget;
  readonly nextId: string;
  readonly currentId: string;
  readonly previousName: string;
}
