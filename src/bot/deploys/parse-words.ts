import { type AppEnv, ENVIRONMENTS } from '../../config/environments.js';

// What a person types after a deploy command: parsed here, at the chat's edge.

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
