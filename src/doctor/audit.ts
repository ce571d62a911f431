// The isolation audit (`lugh doctor`, /doctor): the seed designs' verification checklist,
// run against the live Docker host. Every check gives pass or fail, the evidence it saw,
// and on a failure how to fix it.
import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../config/environments.js';
import { namedSecretsOfEnv, secretsOfEnv } from '../config/secrets.js';
import { DeadlineError, withDeadline } from '../deadline.js';
import { describeDockerError } from '../deployer/errors.js';
import { createRedactor } from '../redact.js';
import { anonymiseRulesCheck, type RulesSource } from './checks/anonymise-rules.js';
import { type Check, ENGINE_FIX, type Verdict } from './checks/check.js';
import { databaseChecks } from './checks/database.js';
import { identityChecks } from './checks/identity.js';
import { networkCheck } from './checks/network.js';
import { hostPortsCheck } from './checks/ports.js';
import { previewSettingsCheck, previewsCheck } from './checks/previews.js';
import { promoteKeysCheck } from './checks/promote-keys.js';
import { refreshSetupCheck } from './checks/refresh-setup.js';
import { priorityCheck } from './checks/resources.js';
import { servicesCheck } from './checks/services.js';
import {
  botTokenCheck,
  deployContainerCheck,
  flagsCheck,
  homeCheck,
  redisPrefixCheck,
} from './checks/settings.js';
import { SWARM_CHECKS } from './checks/swarm/checks.js';
import { databaseOf, type EnvironmentFacts, gatherFacts, type SettingsFallback } from './facts.js';
import { gatherPreviews } from './preview-facts.js';
import { gatherSwarmFacts, SWARM_APP_SERVICE } from './swarm-facts.js';
import { Unchecked } from './unchecked.js';

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** The check does not apply here (ok, and not counted as passed); the evidence says why. */
  readonly skipped?: boolean;
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
  /** Checks that do not apply where the audit ran (on Swarm: those without meaning there). */
  readonly skipped?: number;
  /** Which runtime was audited: app containers (`docker`) or app services (`swarm`). */
  readonly runtime?: 'docker' | 'swarm';
}

export interface AuditOptions {
  /** Absent: every check that needs the engine fails, saying so. */
  readonly docker?: Docker;
  /**
   * `swarm`: each environment's app is a Swarm service (DEPLOY_RUNTIME=swarm) and the checks
   * read the services' specs; default `docker`, the app containers.
   */
  readonly runtime?: 'docker' | 'swarm';
  /** The app containers' names (default: the compose files' container_name); on Swarm, the services'. */
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
  /** Whose preview containers to audit: the namespace of previewNames (tests, the sandbox); default a real lugh's. */
  readonly previewNamespace?: string;
  /** Reads lugh.anonymise.yml at production's running commit (through the forge, or a local file); absent: that check cannot run. */
  readonly anonymiseRules?: RulesSource;
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
  servicesCheck,
  previewsCheck,
  previewSettingsCheck,
  ...identityChecks,
  flagsCheck,
  promoteKeysCheck,
  anonymiseRulesCheck(undefined),
  refreshSetupCheck,
];

/** The checks with what this audit was given to read (the rules file's source). */
const checksFor = (options: AuditOptions): readonly Check[] =>
  (options.runtime === 'swarm' ? SWARM_CHECKS : CHECKS).map((c) =>
    c.id === 'anonymise-rules' ? anonymiseRulesCheck(options.anonymiseRules) : c,
  );

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
/** The same on Swarm. */
export const SWARM_CHECK_IDS = SWARM_CHECKS.map((c) => c.id);

/** Runs every check at once, each with its own deadline; never throws. */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const swarm = options.runtime === 'swarm';
  const name = (env: AppEnv) =>
    options.containers?.[env] ?? (swarm ? SWARM_APP_SERVICE[env] : ENVIRONMENTS[env].appContainer);
  const gather = (env: AppEnv) =>
    (swarm ? gatherSwarmFacts : gatherFacts)({
      docker: options.docker,
      env,
      containerName: name(env),
      serviceName: name(env),
      settings: options.settings,
      fallback: options.fallback,
    });
  const [gathered, production, previews] = await Promise.all([
    gather('staging'),
    gather('production'),
    swarm ? undefined : gatherPreviews(options.docker, options.previewNamespace),
  ]);
  // The previews are held against every secret the audit knows, the env files' too.
  const knownSecrets = (['staging', 'production'] as const).flatMap((env) =>
    namedSecretsOfEnv(options.fallback?.(env)?.settings ?? {}).map((x) => ({ env, ...x })),
  );
  const staging = previews ? { ...gathered, previews: { ...previews, knownSecrets } } : gathered;
  // Evidence may quote a setting; no secret of either environment (every setting the config
  // tables mark secret, and the database password the checks decode) reaches the output.
  const secrets = [staging, production].flatMap((f) => [
    ...secretsOfEnv(f.settings ?? {}),
    databaseOf(f)?.password ?? '',
  ]);
  const redact = createRedactor([
    ...(options.secrets ?? []),
    ...secrets,
    ...knownSecrets.map((k) => k.value),
  ]);
  const ms = options.timeoutMs ?? 15_000;
  const checks = await Promise.all(
    checksFor(options).map(async (check): Promise<CheckResult> => {
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
        ...(verdict.skipped ? { skipped: true } : {}),
        evidence: redact(verdict.evidence),
        fix: verdict.ok ? undefined : verdict.fix && redact(verdict.fix),
        ...(verdict.ok || !options.expected?.[check.id] ? {} : { expected: options.expected[check.id] }),
      };
    }),
  );
  return {
    staging,
    production,
    checks,
    failed: checks.filter((c) => !c.ok).length,
    skipped: checks.filter((c) => c.skipped).length,
    runtime: swarm ? 'swarm' : 'docker',
  };
}

/** The report as `lugh doctor` prints it. */
export function renderAuditText(report: AuditReport): string {
  const what = report.runtime === 'swarm' ? 'Swarm services ' : '';
  const lines = [
    `lugh doctor: isolation of staging (${what}${report.staging.containerName}) and production (${report.production.containerName})`,
    '',
  ];
  for (const c of report.checks) {
    lines.push(`${c.skipped ? 'SKIP' : c.ok ? 'PASS' : 'FAIL'}  ${c.id.padEnd(19)} ${c.title}`);
    lines.push(`      ${c.evidence}`);
    if (c.expected) lines.push(`      expected here: ${c.expected}`);
    if (c.fix) lines.push(`      fix: ${c.fix}`);
  }
  const skippedCount = report.skipped ?? 0;
  const passed = report.checks.length - report.failed - skippedCount;
  lines.push(
    '',
    `${passed} passed, ${report.failed} failed${skippedCount ? `, ${skippedCount} skipped` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
