import { type AppEnv, ENVIRONMENTS } from '../../environments.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { LockStore } from '../../store/locks.js';

/** What the deploy commands need: this instance's deployments, lock, queue and container. */
export interface DeployControl {
  /** The environment this instance deploys. */
  readonly env: AppEnv;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  /** Queues a deployment row for the worker; returns the job id. */
  enqueue(deploymentId: number): Promise<string>;
  /** The last `lines` lines the running app container printed. */
  containerLogs(lines: number): Promise<string[]>;
  /** How long a production deploy waits for its confirmation. */
  readonly confirmMs: number;
}

/** `staging`, `production` or `prod`; undefined for anything else. */
export function parseEnv(word: string | undefined): AppEnv | undefined {
  const w = word?.toLowerCase();
  if (w === 'staging') return 'staging';
  if (w === 'production' || w === 'prod') return 'production';
  return undefined;
}

/** The branch an environment deploys by default. */
export function branchOf(env: AppEnv): string {
  return ENVIRONMENTS[env].branch;
}

const REF = /^(?![./-])[A-Za-z0-9._/-]{1,100}$/;

/** A branch name or a commit SHA a person may type; no spaces, no `..`. */
export function isValidRef(ref: string): boolean {
  return REF.test(ref) && !ref.includes('..');
}

/** `30m`, `2h`, `1d`, `90` (minutes); undefined when it is not a duration. */
export function parseDuration(word: string | undefined): number | undefined {
  const m = word?.match(/^(\d{1,4})(m|min|h|d)?$/i);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'm').toLowerCase();
  const ms = n * (unit === 'd' ? 86_400_000 : unit === 'h' ? 3_600_000 : 60_000);
  return ms > 0 && ms <= 7 * 86_400_000 ? ms : undefined;
}
