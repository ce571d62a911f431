// The isolation audit (`lugh doctor`, /doctor): the seed designs' verification checklist,
// run against the live Docker host. Every check gives pass or fail, the evidence it saw,
// and on a failure how to fix it.
import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../config/environments.js';
import { secretsOfEnv } from '../config/secrets.js';
import { DeadlineError, withDeadline } from '../deadline.js';
import { describeDockerError } from '../deployer/errors.js';
import { createRedactor } from '../redact.js';
import { type Check, ENGINE_FIX, type Verdict } from './checks/check.js';
import { databaseChecks } from './checks/database.js';
import { identityChecks } from './checks/identity.js';
import { networkCheck } from './checks/network.js';
import { hostPortsCheck } from './checks/ports.js';
import { promoteKeysCheck } from './checks/promote-keys.js';
import { priorityCheck } from './checks/resources.js';
import {
  botTokenCheck,
  deployContainerCheck,
  flagsCheck,
  homeCheck,
  redisPrefixCheck,
} from './checks/settings.js';
import { databaseOf, type EnvironmentFacts, gatherFacts, type SettingsFallback } from './facts.js';
import { Unchecked } from './unchecked.js';

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  readonly evidence: string;
  /** How to fix it; only on a failure. */
  readonly fix?: string;
  /** Why this setting expects the failure (AuditOptions.expected); only on a failure. */
  readonly expected?: string;
}

export interface AuditReport {
  readonly staging: EnvironmentFacts;
  readonly production: EnvironmentFacts;
  readonly checks: readonly CheckResult[];
  readonly failed: number;
}

export interface AuditOptions {
  /** Absent: every check that needs the engine fails, saying so. */
  readonly docker?: Docker;
  /** The app containers' names (default: the compose files' container_name). */
  readonly containers?: Partial<Record<AppEnv, string>>;
  /** Settings for an environment whose container is missing. */
  readonly fallback?: SettingsFallback;
  /** Settings that win over the containers' (the sandbox, whose instances are processes). */
  readonly settings?: SettingsFallback;
  /** Each check's deadline. */
  readonly timeoutMs?: number;
  /** Secrets of the calling process, redacted from the output with those of both environments. */
  readonly secrets?: readonly string[];
  /**
   * Failures this setting expects, by check id, and why. Only the sandbox sets it (its
   * databases are embedded, its demo apps are not started by docker-compose), and /doctor
   * words them "Expected in the sandbox". They still count as failed.
   */
  readonly expected?: ExpectedFailures;
}

/** Check ids and why a failure of that check is expected where the audit runs. */
export type ExpectedFailures = Readonly<Partial<Record<string, string>>>;

/** In the order they run and print. */
const CHECKS: readonly Check[] = [
  networkCheck,
  hostPortsCheck,
  ...databaseChecks,
  redisPrefixCheck,
  homeCheck,
  deployContainerCheck,
  botTokenCheck,
  priorityCheck,
  ...identityChecks,
  flagsCheck,
  promoteKeysCheck,
];

/** Why a check could not run, and the fix that fits that reason. */
function unchecked(error: unknown, ms: number): { evidence: string; fix: string } {
  if (error instanceof Unchecked) return { evidence: `could not check: ${error.message}`, fix: error.fix };
  if (error instanceof DeadlineError)
    return {
      evidence: `could not check: no answer within ${ms / 1000} s`,
      fix: 'run the audit again; if it stays slow, look at the Docker engine and the containers’ load',
    };
  const code = (error as { code?: string }).code;
  const engine = code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES';
  return {
    evidence: `could not check: ${describeDockerError(error)}`,
    fix: engine
      ? ENGINE_FIX
      : 'run the audit again; if it fails the same way, the evidence says what to look at',
  };
}

/** The ids of every check, in the order they run and print. */
export const CHECK_IDS = CHECKS.map((c) => c.id);

/** Runs every check at once, each with its own deadline; never throws. */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const name = (env: AppEnv) => options.containers?.[env] ?? ENVIRONMENTS[env].appContainer;
  const gather = (env: AppEnv) =>
    gatherFacts({
      docker: options.docker,
      env,
      containerName: name(env),
      settings: options.settings,
      fallback: options.fallback,
    });
  const [staging, production] = await Promise.all([gather('staging'), gather('production')]);
  // Evidence may quote a setting; no secret of either environment (every setting the config
  // tables mark secret, and the database password the checks decode) reaches the output.
  const secrets = [staging, production].flatMap((f) => [
    ...secretsOfEnv(f.settings ?? {}),
    databaseOf(f)?.password ?? '',
  ]);
  const redact = createRedactor([...(options.secrets ?? []), ...secrets]);
  const ms = options.timeoutMs ?? 15_000;
  const checks = await Promise.all(
    CHECKS.map(async (check): Promise<CheckResult> => {
      let verdict: Verdict;
      try {
        verdict = await withDeadline(check.run(staging, production, options.docker), ms);
      } catch (error) {
        verdict = { ok: false, ...unchecked(error, ms) };
      }
      return {
        id: check.id,
        title: check.title,
        ok: verdict.ok,
        evidence: redact(verdict.evidence),
        fix: verdict.ok ? undefined : verdict.fix && redact(verdict.fix),
        ...(verdict.ok || !options.expected?.[check.id] ? {} : { expected: options.expected[check.id] }),
      };
    }),
  );
  return { staging, production, checks, failed: checks.filter((c) => !c.ok).length };
}

/** The report as `lugh doctor` prints it. */
export function renderAuditText(report: AuditReport): string {
  const lines = [
    `lugh doctor: isolation of staging (${report.staging.containerName}) and production (${report.production.containerName})`,
    '',
  ];
  for (const c of report.checks) {
    lines.push(`${c.ok ? 'PASS' : 'FAIL'}  ${c.id.padEnd(19)} ${c.title}`);
    lines.push(`      ${c.evidence}`);
    if (c.expected) lines.push(`      expected here: ${c.expected}`);
    if (c.fix) lines.push(`      fix: ${c.fix}`);
  }
  const passed = report.checks.length - report.failed;
  lines.push('', `${passed} passed, ${report.failed} failed`);
  return `${lines.join('\n')}\n`;
}
