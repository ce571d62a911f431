import type { SwitchPlan } from '../container-plan.js';
import type { RolledBackError } from '../errors.js';

/**
 * What the deploy steps ask of the engine that runs the app (DESIGN §4: Docker today,
 * Swarm next). Each switch phase is its own call so that each is its own step; the
 * handles they pass on are plain data.
 */
export interface Runtime {
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
   * it replaced (`replacedId`) runs again, even in place of a running new one.
   */
  converge(containerName: string, unverified?: { readonly replacedId: string }): Promise<string | undefined>;
  /** Runs the migration the image declares; undefined when it declares none. */
  runMigration(opts: MigrationTarget): Promise<{ command: string[]; logTail: string[] } | undefined>;
  /** Starts the new version beside the running one, taking no traffic. */
  startPreflight(target: SwitchTarget): Promise<Preflight>;
  /**
   * Waits for the pre-flight to become healthy, then removes it either way; with a proxy in
   * front, a healthy one stays to serve during the switch (switchOver removes it).
   */
  awaitPreflight(preflight: Preflight, deadlineMs: number): Promise<void>;
  removePreflight(preflight: Preflight): Promise<void>;
  /**
   * Stops the running version and starts the new one in its place; rolls back if it is not
   * healthy, or if `holdLock` (asked between the phases) fails: the deploy lost its lock.
   */
  switchOver(preflight: Preflight, deadlineMs: number, holdLock?: () => Promise<void>): Promise<Switched>;
  /** The new version must stay healthy through the window, or it is rolled back. */
  verify(switched: Switched, windowMs: number): Promise<void>;
  /** Puts the previous version back; the error says why, with the new version's last lines. */
  rollback(switched: Switched, reason: string): Promise<RolledBackError>;
}

export interface SwitchTarget {
  readonly containerName: string;
  readonly image: string;
  readonly sha: string;
}

export interface MigrationTarget extends SwitchTarget {
  readonly timeoutMs: number;
}

/** A new version started beside the running one (`currentId`), not yet gated. */
export interface Preflight {
  readonly target: SwitchTarget;
  readonly id: string;
  readonly currentId: string;
  readonly plan: SwitchPlan;
  readonly networks: ReadonlyArray<readonly [string, readonly string[]]>;
}

/** The new version (`nextId`) runs under the app's name; the previous one is kept, stopped. */
export interface Switched {
  readonly target: SwitchTarget;
  readonly nextId: string;
  readonly currentId: string;
  readonly previousName: string;
}
