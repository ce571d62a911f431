import type { StandInCore } from './core.js';
import type { CheckConclusion, CheckRunRecord, CheckSuiteRecord, StatusRecord } from './state.js';
import { emitCheckRun, emitCheckSuite, emitStatus, emitWorkflowRun } from './webhook-events.js';

/** One check of a scripted CI run: a check run (as Actions reports) or a commit status (older CI). */
export interface PlannedCheck {
  readonly name: string;
  readonly kind: 'check_run' | 'status';
  readonly conclusion: CheckConclusion;
  readonly afterMs: number;
}

interface Running {
  readonly finish: (conclusion: CheckConclusion) => Promise<void>;
  readonly timer: NodeJS.Timeout;
}

const CONCLUSIONS = new Set<CheckConclusion>(['success', 'failure', 'cancelled', 'timed_out']);
const SEVERITY: readonly CheckConclusion[] = ['failure', 'timed_out', 'cancelled', 'success'];

function statusState(conclusion: CheckConclusion): StatusRecord['state'] {
  if (conclusion === 'success') return 'success';
  return conclusion === 'failure' ? 'failure' : 'error';
}

function validate(plan: readonly PlannedCheck[]): void {
  for (const check of plan) {
    if (!check.name) throw new Error('check plan: every check needs a name');
    if (check.kind !== 'check_run' && check.kind !== 'status')
      throw new Error(`check plan: unknown kind ${check.kind}`);
    if (!CONCLUSIONS.has(check.conclusion))
      throw new Error(`check plan: unknown conclusion ${check.conclusion}`);
    if (!(check.afterMs >= 0)) throw new Error('check plan: afterMs must be ≥ 0');
  }
}

/**
 * Scripted CI: each plan is one workflow run (a check suite) whose checks start at once and
 * finish after their delay, every change announced by webhook like GitHub Actions would.
 * Whether a check is required is the base branch's protection's business (setBranchProtection).
 */
export class CheckPlanner {
  private defaultPlan: readonly PlannedCheck[] | undefined;
  private readonly planned = new Set<string>();
  private readonly running = new Map<string, Running>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly work = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly core: StandInCore) {}

  /** Starts `plan` on `sha` now; resolves once the start was announced. */
  setPlan(sha: string, plan: readonly PlannedCheck[]): Promise<void> {
    validate(plan);
    this.planned.add(sha);
    const { state } = this.core;
    const at = this.core.timestamp();
    const headBranch = state.pulls.find((p) => p.state === 'open' && p.headSha === sha)?.head ?? null;
    const runs = plan.filter((c) => c.kind === 'check_run');
    let suite: CheckSuiteRecord | undefined;
    if (runs.length > 0) {
      suite = {
        id: state.nextId('suite'),
        headSha: sha,
        headBranch,
        status: 'in_progress',
        conclusion: null,
        createdAt: at,
        updatedAt: at,
        workflowRunId: state.nextId('workflowRun'),
        runNumber: state.nextRunNumber(),
      };
      state.checkSuites.push(suite);
    }
    const started: Array<{ check: PlannedCheck; run?: CheckRunRecord; status?: StatusRecord }> = plan.map(
      (check) => {
        if (check.kind === 'check_run') {
          const run: CheckRunRecord = {
            id: state.nextId('run'),
            suiteId: suite!.id,
            headSha: sha,
            name: check.name,
            status: 'in_progress',
            conclusion: null,
            startedAt: at,
            completedAt: null,
          };
          state.checkRuns.push(run);
          return { check, run };
        }
        const status = this.addStatus(sha, check.name, 'pending', 'Waiting for the job to finish');
        return { check, status };
      },
    );

    const announced = this.track(
      (async () => {
        if (suite) {
          await emitCheckSuite(this.core, 'requested', suite);
          await emitWorkflowRun(this.core, 'requested', suite);
        }
        for (const { run, status } of started) {
          if (run && suite) await emitCheckRun(this.core, 'created', run, suite);
          if (status) await emitStatus(this.core, status);
        }
      })(),
    );

    for (const { check, run } of started) {
      // Keyed by commit and name: completeCheck finishes the newest run of a name; an older
      // suite's run of the same name still finishes on its own timer.
      const key = `${sha}\x00${check.name}`;
      const finish = async (conclusion: CheckConclusion) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        if (this.running.get(key)?.timer === timer) this.running.delete(key);
        await announced;
        if (run && suite) await this.finishRun(run, suite, conclusion);
        else await this.finishStatus(sha, check.name, conclusion);
      };
      const timer = setTimeout(() => {
        this.track(finish(check.conclusion)).catch(() => undefined);
      }, check.afterMs);
      this.timers.add(timer);
      this.running.set(key, { finish, timer });
    }
    return announced;
  }

  /** The plan every new pull-request head gets; also started for open heads that have none yet. */
  setDefault(plan: readonly PlannedCheck[]): Promise<void> {
    validate(plan);
    this.defaultPlan = plan;
    const heads = new Set(this.core.state.pulls.filter((p) => p.state === 'open').map((p) => p.headSha));
    return Promise.all([...heads].map((sha) => this.applyDefault(sha))).then(() => undefined);
  }

  /** Starts the default plan on a head that has had no plan yet. */
  applyDefault(sha: string): Promise<void> {
    if (!this.defaultPlan || this.planned.has(sha) || this.closed) return Promise.resolve();
    return this.setPlan(sha, this.defaultPlan);
  }

  /**
   * Runs one check again on a commit that already ran it, as a new workflow run does (a re-run,
   * a reopened pull request, a `pull_request: edited` event, workflow_dispatch): a new check
   * suite, so the earlier run (its failure too) stays listed beside the new one, as on GitHub.
   */
  async rerun(sha: string, name: string, conclusion: CheckConclusion, afterMs: number): Promise<void> {
    if (!this.core.state.checkRuns.some((r) => r.headSha === sha && r.name === name))
      throw new Error(`rerunCheck: no check run "${name}" on ${sha} to run again`);
    await this.setPlan(sha, [{ name, kind: 'check_run', conclusion, afterMs }]);
  }

  /** Finishes one running check now. */
  async complete(sha: string, name: string, conclusion: CheckConclusion): Promise<void> {
    if (!CONCLUSIONS.has(conclusion)) throw new Error(`completeCheck: unknown conclusion ${conclusion}`);
    const running = this.running.get(`${sha}\x00${name}`);
    if (!running) throw new Error(`completeCheck: no running check "${name}" on ${sha}`);
    await this.track(running.finish(conclusion));
  }

  /** Stops every timer and waits for announcements already under way. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.running.clear();
    await Promise.allSettled([...this.work]);
  }

  private addStatus(
    sha: string,
    context: string,
    state: StatusRecord['state'],
    description: string,
  ): StatusRecord {
    const status: StatusRecord = {
      id: this.core.state.nextId('status'),
      sha,
      state,
      context,
      description,
      targetUrl: `${this.core.site.apiUrl}/${this.core.site.owner}/${this.core.site.name}/ci/${encodeURIComponent(context)}`,
      createdAt: this.core.timestamp(),
      creator: this.core.actor,
    };
    this.core.state.statuses.push(status);
    return status;
  }

  private async finishRun(
    run: CheckRunRecord,
    suite: CheckSuiteRecord,
    conclusion: CheckConclusion,
  ): Promise<void> {
    const at = this.core.timestamp();
    run.status = 'completed';
    run.conclusion = conclusion;
    run.completedAt = at;
    await emitCheckRun(this.core, 'completed', run, suite);
    const runs = this.core.state.checkRuns.filter((r) => r.suiteId === suite.id);
    if (runs.every((r) => r.status === 'completed')) {
      suite.status = 'completed';
      suite.conclusion = SEVERITY.find((c) => runs.some((r) => r.conclusion === c)) ?? 'success';
      suite.updatedAt = at;
      await emitCheckSuite(this.core, 'completed', suite);
      await emitWorkflowRun(this.core, 'completed', suite);
    }
  }

  private async finishStatus(sha: string, context: string, conclusion: CheckConclusion): Promise<void> {
    const description = conclusion === 'success' ? 'The job succeeded' : `The job ended: ${conclusion}`;
    await emitStatus(this.core, this.addStatus(sha, context, statusState(conclusion), description));
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.work.delete(tracked));
    // Whoever awaits the returned promise sees a failure; nobody awaiting must not crash the process.
    tracked.catch(() => undefined);
    this.work.add(tracked);
    return tracked;
  }
}
