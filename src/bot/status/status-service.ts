import { type AppEnv, ENVIRONMENTS, otherEnv } from '../../environments.js';
import type { CiState, Comparison } from '../../forge/forge.js';
import type { Promotion } from '../../store/promotions.js';
import {
  type ContainerFacts,
  type EnvironmentStatus,
  type PublishedStatus,
  probe,
  type StatusReport,
} from './status-report.js';

export interface StatusServiceDeps {
  readonly env: AppEnv;
  /** This instance, as it would publish itself now. */
  readonly own: () => Promise<PublishedStatus>;
  /** What the other instance published (undefined when it has not lately). */
  readonly other: () => Promise<PublishedStatus | undefined>;
  readonly container: (name: string) => Promise<ContainerFacts>;
  readonly github?: {
    compare(base: string, head: string): Promise<Comparison>;
    branchSha(branch: string): Promise<string>;
    ciState(sha: string): Promise<CiState>;
  };
  /** The open promotion (staging). */
  readonly promotion?: () => Promise<Promotion | undefined>;
  /** Each source's own deadline: a slow one is "unknown", never a slow reply. */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

/**
 * /status: every source asked at once, each with its own deadline, so the reply never
 * waits past the slowest deadline whatever is down.
 */
export function createStatusService(deps: StatusServiceDeps) {
  const ms = deps.timeoutMs ?? 1_800;
  const other = otherEnv(deps.env);
  return {
    async report(): Promise<StatusReport> {
      const published = deps.other();
      published.catch(() => {});
      const self = deps.own();
      self.catch(() => {});
      const [ownReport, ownContainer, theirs, theirContainer, compare, ci, promotion] = await Promise.all([
        probe(() => self, ms),
        probe(async () => deps.container((await self).container), ms),
        probe(async () => {
          const r = await published;
          if (!r) throw new Error(`the ${other} instance has not reported in the last minute`);
          return r;
        }, ms),
        probe(
          async () =>
            deps.container(
              (await published.catch(() => undefined))?.container ?? ENVIRONMENTS[other].appContainer,
            ),
          ms,
        ),
        deps.github ? probe(() => deps.github!.compare('main', 'develop'), ms) : undefined,
        deps.github
          ? probe(async () => deps.github!.ciState(await deps.github!.branchSha('develop')), ms)
          : undefined,
        deps.promotion ? probe(deps.promotion, ms) : undefined,
      ]);
      const mine: EnvironmentStatus = {
        env: deps.env,
        self: true,
        report: ownReport,
        container: ownContainer,
      };
      const them: EnvironmentStatus = { env: other, self: false, report: theirs, container: theirContainer };
      return {
        at: deps.now?.() ?? new Date(),
        // Always staging first, whichever bot answers.
        environments: deps.env === 'staging' ? [mine, them] : [them, mine],
        compare,
        ci,
        promotion,
      };
    },
  };
}

export type StatusService = ReturnType<typeof createStatusService>;
