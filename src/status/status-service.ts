import { type AppEnv, ENVIRONMENTS, otherEnv } from '../config/environments.js';
import type { CiState, Comparison } from '../forge/forge.js';
import type { Promotion } from '../store/promotions.js';
import { formatAgo } from '../time-text.js';
import { type SetContainerState, serviceStatuses } from './service-status.js';
import {
  type ContainerFacts,
  type EnvironmentStatus,
  type PreviewCounts,
  type PublishedStatus,
  probe,
  probeDated,
  recentOr,
  type StatusReport,
} from './status-report.js';
import type { SwarmServiceStatus } from './swarm-status.js';
import type { UsageSample } from './usage-sampler.js';
import type { VersionFacts } from './version-lookup.js';
import type { WebhookHistory } from './webhook-log.js';

/** How long /status waits for GitHub before it shows the last answer (dated) instead. */
const GITHUB_SOFT_MS = 150;
/** The oldest earlier GitHub answer /status shows in place of a slow fresh one. */
const GITHUB_KEEP_MS = 60_000;

/** Instances publish every 10 s: three missed reports and what the last one says is no longer believed. */
const STALE_MS = 30_000;

export interface StatusServiceDeps {
  readonly env: AppEnv;
  /** This instance, as it would publish itself now. */
  readonly own: () => Promise<PublishedStatus>;
  /** This instance's container and commit: configuration, known without asking anything. */
  readonly ownContainer: string;
  readonly ownSha?: string;
  /** What the other instance published (undefined when it has not lately). */
  readonly other: () => Promise<PublishedStatus | undefined>;
  /** A container's state and Docker's health check: one inspect, no stats. */
  readonly container: (name: string) => Promise<ContainerFacts>;
  /**
   * The containers of the set whose app container is `app` (lugh.yml; labelled `lugh.set`),
   * the app container first: one list of the engine, no stats. Absent: no line per service.
   */
  readonly setContainers?: (app: string) => Promise<readonly SetContainerState[]>;
  /**
   * DEPLOY_RUNTIME=swarm: each environment's app is the Swarm service its container name
   * names; /status reads the service and its tasks instead of a container and a set.
   */
  readonly swarmService?: (name: string) => Promise<SwarmServiceStatus>;
  /** The other environment's app container (or service) while it has not said (default: compose's name). */
  readonly otherDefault?: string;
  /** The background sampler's last CPU and memory of a container (see usage-sampler). */
  readonly usage?: (name: string) => UsageSample | undefined;
  readonly github?: {
    compare(base: string, head: string): Promise<Comparison>;
    branchSha(branch: string): Promise<string>;
    ciState(sha: string): Promise<CiState>;
  };
  /** The release tag and age of a running commit (see version-lookup). */
  readonly version?: (sha: string) => Promise<VersionFacts>;
  /** The open promotion (staging). */
  readonly promotion?: () => Promise<Promotion | undefined>;
  /** GitHub's webhook deliveries to this instance, when it takes them (GITHUB_WEBHOOK_SECRET). */
  readonly webhooks?: () => Promise<WebhookHistory>;
  /** Admins this bot cannot write to yet, from its last reach check (notifications/chat-reach.ts). */
  readonly unreachableAdmins?: () => readonly number[] | undefined;
  /** Preview environments (staging with the flag `previews` on): their counts. */
  readonly previews?: () => Promise<PreviewCounts>;
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
  const main = ENVIRONMENTS.production.branch;
  const develop = ENVIRONMENTS.staging.branch;
  const github = deps.github;
  const swarmService = deps.swarmService;
  // On Swarm there is no app container to inspect, nor a set of containers (lugh.yml).
  const setContainers = swarmService ? undefined : deps.setContainers;
  const recent = { softMs: GITHUB_SOFT_MS, keepMs: GITHUB_KEEP_MS, now: deps.now };
  const compare = github ? recentOr(() => github.compare(main, develop), recent) : undefined;
  const ciOfDevelop = github
    ? recentOr(async () => github.ciState(await github.branchSha(develop)), recent)
    : undefined;
  /** The live state with the last sampled usage: nothing here waits for Docker's stats. */
  const container = async (name: string): Promise<ContainerFacts> => {
    const facts = await deps.container(name);
    if (facts.state !== 'running' || !deps.usage) return facts;
    const sampled = deps.usage(name);
    if (!sampled) return { ...facts, usagePending: true };
    const { at, ...usage } = sampled;
    return { ...facts, ...usage, usageAt: at };
  };
  return {
    /**
     * `brief`: only what the short form shows (each instance's own report), for people who
     * are not admins: it spends no GitHub request and no Docker stats on them.
     */
    async report(options: { brief?: boolean } = {}): Promise<StatusReport> {
      const full = !options.brief;
      const at = deps.now?.() ?? new Date();
      const raw = deps.other();
      raw.catch(() => {});
      const published = raw.then((r) => {
        if (!r) throw new Error(`the ${other} instance has not reported in the last minute`);
        const reported = new Date(r.at);
        if (at.getTime() - reported.getTime() > STALE_MS)
          throw new Error(`the ${other} instance last reported ${formatAgo(reported, at)}`);
        return r;
      });
      published.catch(() => {});
      const self = deps.own();
      self.catch(() => {});
      // No SHA known (GIT_SHA unset): nothing to look up, not a failure.
      const version = async (sha: string | undefined) => (sha ? deps.version!(sha) : undefined);
      const notAsked = { ok: false, why: 'not asked' } as const;
      const onSwarm = { ok: false, why: 'a Swarm service, not a container' } as const;
      const theirName = async () =>
        (await raw.catch(() => undefined))?.container ??
        deps.otherDefault ??
        ENVIRONMENTS[other].appContainer;
      const [
        ownReport,
        ownContainer,
        ownVersion,
        theirs,
        theirContainer,
        theirVersion,
        comparison,
        ci,
        promotion,
        webhooks,
        ownServices,
        theirServices,
        ownSwarm,
        theirSwarm,
        previews,
      ] = await Promise.all([
        probe(() => self, ms),
        !full ? notAsked : swarmService ? onSwarm : probe(() => container(deps.ownContainer), ms),
        // The version this environment runs (its last successful deploy), as its own report says.
        full && deps.version ? probe(async () => version((await self).gitSha ?? deps.ownSha), ms) : undefined,
        probe(() => published, ms),
        !full ? notAsked : swarmService ? onSwarm : probe(async () => container(await theirName()), ms),
        full && deps.version ? probe(async () => version((await published).gitSha), ms) : undefined,
        full && compare ? probeDated(compare, ms) : undefined,
        full && ciOfDevelop ? probeDated(ciOfDevelop, ms) : undefined,
        full && deps.promotion ? probe(deps.promotion, ms) : undefined,
        full && deps.webhooks ? probe(deps.webhooks, ms) : undefined,
        // Each environment's services: its containers now, against the set its own last
        // deployment recorded (as each instance publishes it), each with its own deadline.
        full && setContainers
          ? probe(
              async () =>
                serviceStatuses(
                  await setContainers(deps.ownContainer),
                  (await self.catch(() => undefined))?.set,
                ),
              ms,
            )
          : undefined,
        full && setContainers
          ? probe(async () => {
              const r = await raw.catch(() => undefined);
              return serviceStatuses(
                await setContainers(r?.container ?? ENVIRONMENTS[other].appContainer),
                r?.set,
              );
            }, ms)
          : undefined,
        full && swarmService ? probe(() => swarmService(deps.ownContainer), ms) : undefined,
        full && swarmService ? probe(async () => swarmService(await theirName()), ms) : undefined,
        full && deps.previews ? probe(deps.previews, ms) : undefined,
      ]);
      const mine: EnvironmentStatus = {
        env: deps.env,
        self: true,
        report: ownReport,
        container: ownContainer,
        version: ownVersion,
        ...(ownServices ? { services: ownServices } : {}),
        ...(ownSwarm ? { swarm: ownSwarm } : {}),
      };
      const them: EnvironmentStatus = {
        env: other,
        self: false,
        report: theirs,
        container: theirContainer,
        version: theirVersion,
        ...(theirServices ? { services: theirServices } : {}),
        ...(theirSwarm ? { swarm: theirSwarm } : {}),
      };
      return {
        at,
        // Always staging first, whichever bot answers.
        environments: deps.env === 'staging' ? [mine, them] : [them, mine],
        compare: comparison,
        ci,
        promotion,
        webhooks,
        unreachableAdmins: full ? deps.unreachableAdmins?.() : undefined,
        ...(previews ? { previews } : {}),
      };
    },
  };
}

export type StatusService = ReturnType<typeof createStatusService>;
