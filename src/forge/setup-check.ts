// What `lugh github check` and /doctor report about lugh's set-up on the forge: each
// finding with what was seen and, when it is not right, exactly what to change.

/** fail: something lugh needs is missing; warn: it works, but something will bite. */
export type SetupLevel = 'ok' | 'warn' | 'fail';

export interface SetupFinding {
  readonly id: string;
  readonly title: string;
  readonly level: SetupLevel;
  readonly evidence: string;
  /** What to change; on a warning or a failure. */
  readonly fix?: string;
}

export interface ForgeSetupReport {
  /** `owner/name` as configured. */
  readonly repo: string;
  readonly findings: readonly SetupFinding[];
  readonly failed: number;
  readonly warned: number;
}

export function setupReport(repo: string, findings: readonly SetupFinding[]): ForgeSetupReport {
  return {
    repo,
    findings,
    failed: findings.filter((f) => f.level === 'fail').length,
    warned: findings.filter((f) => f.level === 'warn').length,
  };
}
