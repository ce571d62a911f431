import { botAccount } from './account-json.js';
import type { CheckPlanner } from './check-plans.js';
import type { GitRepository } from './git-repository.js';
import { repositoryJson } from './repository-json.js';
import { isoSeconds, type Site } from './site.js';
import { StandInState } from './state.js';
import type { WebhookSender } from './webhook-sender.js';

/** What the routes, the check plans and the webhooks share: the repository, the state, the clock. */
export class StandInCore {
  readonly state = new StandInState();
  readonly actor = botAccount;
  pushedAt: string;
  /** Set right after construction: the planner needs the core too. */
  planner!: CheckPlanner;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly pendingWork = new Set<Promise<unknown>>();

  constructor(
    readonly site: Site,
    readonly repo: GitRepository,
    readonly now: () => number,
    readonly webhooks: WebhookSender,
  ) {
    this.pushedAt = site.createdAt;
  }

  timestamp(): string {
    return isoSeconds(this.now());
  }

  /**
   * Runs ref-moving work one at a time (merges, pushes, tag creation), as GitHub serializes
   * writes to a repository; a failure does not block the next one.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Work that follows an answer (webhooks after a merge); close() waits for it, failures are dropped. */
  background(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.pendingWork.delete(tracked));
    this.pendingWork.add(tracked);
  }

  async settled(): Promise<void> {
    while (this.pendingWork.size > 0) await Promise.all([...this.pendingWork]);
    await this.writes;
  }

  async repositoryJson() {
    return repositoryJson(this.site, {
      defaultBranch: await this.repo.defaultBranch(),
      pushedAt: this.pushedAt,
      openIssues: this.state.pulls.filter((p) => p.state === 'open').length,
    });
  }

  /** Open pull requests whose head is at `sha` (what check runs and suites list). */
  openPullsAt(sha: string) {
    return this.state.pulls.filter((p) => p.state === 'open' && p.headSha === sha);
  }
}
