import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountForEmail } from './account-json.js';
import { parseProtection } from './branch-protection.js';
import { CheckPlanner, type PlannedCheck } from './check-plans.js';
import { StandInCore } from './core.js';
import { FaultRegistry, type FaultSpec } from './faults.js';
import { GitRepository } from './git-repository.js';
import type { TokenGrant } from './permissions.js';
import {
  mergePullRequest,
  type OpenedPullRequest,
  type OpenPullInput,
  openFork,
  openPull,
  type PushCommitInput,
  pushCommit,
  pushToPull,
  setPullState,
} from './pull-lifecycle.js';
import type { ForkPullInput } from './pull-open.js';
import { RateLimiter } from './rate-limit.js';
import { addReview } from './reviews.js';
import type { Route } from './route-types.js';
import { Router, routeKey } from './router.js';
import { accountRoutes } from './routes/account-routes.js';
import { branchWriteRoutes } from './routes/branch-write-routes.js';
import { checkRoutes } from './routes/check-routes.js';
import { commentRoutes } from './routes/comment-routes.js';
import { contentRoutes } from './routes/content-routes.js';
import { deploymentRoutes } from './routes/deployment-routes.js';
import { protectionRoutes } from './routes/protection-routes.js';
import { pullRoutes } from './routes/pull-routes.js';
import { rateLimitRoute } from './routes/rate-limit-route.js';
import { releaseRoutes } from './routes/release-routes.js';
import { ArchiveTokens, hookRoutes, repositoryRoutes } from './routes/repository-routes.js';
import { createGitHubServer, type RequestLogEntry } from './server.js';
import { isoSeconds, type Site, stableId } from './site.js';
import type { CheckConclusion } from './state.js';
import { type DeliveryRecord, WebhookSender, type WebhookTarget } from './webhook-sender.js';

export interface GitHubStandInOptions {
  /** A git repository on disk (bare recommended; a checkout's working tree is never touched). */
  readonly repoDir: string;
  readonly owner?: string;
  readonly name?: string;
  readonly port?: number;
  readonly host?: string;
  /** The one token accepted (`token …` or `Bearer …`); any other gets 401 Bad credentials. */
  readonly token?: string;
  /**
   * What kind of token it is and what it may do (default: an App installation token with
   * everything lugh needs). Each route requires GitHub's permission for it; a token without
   * it gets GitHub's 403 with `X-Accepted-GitHub-Permissions`.
   */
  readonly tokenGrant?: TokenGrant;
  /** The user a personal access token acts as (GET /user); default `lugh-deployer`. */
  readonly tokenUser?: string;
  /** The repository's webhook; its content type defaults to `form`, as on GitHub. */
  readonly webhook?: WebhookTarget;
  /** The clock for timestamps and the rate-limit window (check plans use real timers). */
  readonly now?: () => number;
}

export interface GitHubStandIn {
  /**
   * Where later webhook deliveries go, as when a hook's URL is edited (a receiver that
   * started after the stand-in); the content type stays `form` (GitHub's default) unless given.
   */
  setWebhook(target: WebhookTarget | undefined): void;
  /** Octokit's baseUrl, e.g. http://127.0.0.1:PORT */
  readonly apiUrl: string;
  readonly repo: { readonly owner: string; readonly name: string };
  /** Scripted CI on one commit; resolves once the start was announced. */
  setCheckPlan(sha: string, plan: readonly PlannedCheck[]): Promise<void>;
  /** Scripted CI for every new head of a pull request. */
  setDefaultCheckPlan(plan: readonly PlannedCheck[]): Promise<void>;
  completeCheck(sha: string, name: string, conclusion: CheckConclusion): Promise<void>;
  /**
   * A new workflow run of check `name` on `sha` (a re-run, a reopened pull request, an
   * `edited` event): a new check suite whose run ends with `conclusion` after `afterMs`;
   * the earlier run stays listed, as on GitHub.
   */
  rerunCheck(sha: string, name: string, conclusion: CheckConclusion, afterMs?: number): Promise<void>;
  /**
   * Protects `branch` as PUT …/branches/{branch}/protection would, with the same body
   * (`required_status_checks`, `required_pull_request_reviews`, `enforce_admins`, `restrictions`);
   * null removes its protection.
   */
  setBranchProtection(branch: string, protection: Readonly<Record<string, unknown>> | null): void;
  /**
   * How many reads after the first still answer `mergeable: null` / `unknown` for a new base
   * and head (default 0), as a busy GitHub does; open pull requests also answer unknown for
   * their next `reads` reads (GitHub recomputing).
   */
  setMergeabilityLag(reads: number): void;
  /** A review of pull request `number` by another account (a maintainer), on its current head. */
  reviewPull(number: number, login: string, event: 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT'): void;
  injectFault(fault: FaultSpec): void;
  /** The token's kind and permissions from now on (a token edited on GitHub). */
  setTokenGrant(grant: TokenGrant): void;
  requests(): RequestLogEntry[];
  deliveries(): Array<Pick<DeliveryRecord, 'id' | 'event' | 'payload' | 'status'>>;
  redeliver(deliveryId: string): Promise<void>;
  /** Resolves when every webhook queued so far was attempted. */
  settled(): Promise<void>;
  /** A real commit on `branch` (created from the default branch if missing), with its push webhook. */
  pushCommit(branch: string, input: PushCommitInput): Promise<string>;
  /**
   * A person's pull request: a commit on `headRef` (made from `base`, default develop, when
   * missing; push webhook) and the pull request into `base` (`opened`, sent by that person).
   */
  openPull(input: OpenPullInput): Promise<OpenedPullRequest>;
  /**
   * A pull request from a fork (`fork: 'someone/app-fork'`): its head.repo is the fork
   * (fork: true), its author and the `opened` sender the fork's owner; its commit is readable
   * here by SHA and at refs/pull/{n}/head, as on GitHub. No push webhook (not this repository's).
   */
  openForkPull(input: ForkPullInput): Promise<OpenedPullRequest>;
  /** A new commit on the pull request's head by its author: push (not for a fork), then `synchronize`. */
  pushToPull(number: number, input: PushCommitInput): Promise<string>;
  /** Closes it unmerged (`closed`, merged false), as a person on GitHub's page. */
  closePull(number: number): Promise<void>;
  /** Reopens a closed, unmerged one (`reopened`). */
  reopenPull(number: number): Promise<void>;
  /** Merges it with a merge commit (push to the base, then `closed` with merged true); the commit. */
  mergePull(number: number): Promise<string>;
  /** Every "METHOD /template" the stand-in serves. */
  routes(): string[];
  /**
   * Everything the stand-in stores (pulls and their bodies, checks, commit statuses,
   * releases, deployments with their payloads and statuses) and every webhook it sent, as
   * JSON text: what a test scans for leaked secrets.
   */
  storedText(): string;
  close(): Promise<void>;
}

/** Every REST route the stand-in serves. */
export function standInRoutes(
  archives: ArchiveTokens,
  limiter: RateLimiter,
  grant: () => TokenGrant = () => ({ kind: 'installation' }),
  tokenUser = 'lugh-deployer',
): Route[] {
  return [
    ...accountRoutes(grant, tokenUser),
    ...repositoryRoutes(archives),
    ...hookRoutes,
    ...contentRoutes,
    ...protectionRoutes,
    ...branchWriteRoutes,
    ...pullRoutes,
    ...commentRoutes,
    ...checkRoutes,
    ...releaseRoutes,
    ...deploymentRoutes,
    rateLimitRoute(limiter),
  ];
}

/** Starts a GitHub REST API stand-in for one repository, backed by the git repository at `repoDir`. */
export async function startGitHubStandIn(options: GitHubStandInOptions): Promise<GitHubStandIn> {
  const now = options.now ?? Date.now;
  const owner = options.owner ?? 'acme';
  const name = options.name ?? 'app';
  const token = options.token ?? 'ghs_sandboxtoken';
  const repo = new GitRepository(options.repoDir);
  await repo.verify();

  const limiter = new RateLimiter(now);
  const archives = new ArchiveTokens(now);
  let tokenGrant: TokenGrant = options.tokenGrant ?? { kind: 'installation' };
  const grant = () => tokenGrant;
  const router = new Router(standInRoutes(archives, limiter, grant, options.tokenUser));
  const faults = new FaultRegistry(router.keys(), router.routes.filter((route) => route.stale).map(routeKey));
  const log: RequestLogEntry[] = [];

  // The site needs the port, the server needs the core: build the core once the port is known.
  const parts = { router, faults, limiter, token, grant, archives, log } as const;
  let coreRef: StandInCore | undefined;
  const server = createGitHubServer({
    ...parts,
    get core() {
      return coreRef!;
    },
  });
  await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const site = siteAt(server, owner, name, now);
  const webhooks = new WebhookSender(options.webhook, site.repoId, now);
  const core = new StandInCore(site, repo, now, webhooks);
  core.planner = new CheckPlanner(core);
  coreRef = core;

  return {
    apiUrl: site.apiUrl,
    repo: { owner, name },
    setCheckPlan: (sha, plan) => core.planner.setPlan(sha, plan),
    setDefaultCheckPlan: (plan) => core.planner.setDefault(plan),
    completeCheck: (sha, checkName, conclusion) => core.planner.complete(sha, checkName, conclusion),
    rerunCheck: (sha, checkName, conclusion, afterMs = 0) =>
      core.planner.rerun(sha, checkName, conclusion, afterMs),
    setBranchProtection: (branch, protection) => {
      if (protection === null) core.state.protections.delete(branch);
      else core.state.protections.set(branch, parseProtection(protection));
    },
    setMergeabilityLag: (reads) => {
      core.state.mergeabilityLagReads = reads;
      for (const pr of core.state.pulls) if (pr.state === 'open') pr.mergeability.lagReads = reads;
    },
    reviewPull: (number, login, event) => {
      const pr = core.state.pull(number);
      if (!pr) throw new Error(`reviewPull: no pull request #${number}`);
      addReview(core, pr, accountForEmail(`${login}@users.noreply.github.com`), {
        event,
        body: `${event} by ${login}`,
      });
    },
    injectFault: (fault) => faults.add(fault),
    setTokenGrant: (next) => {
      tokenGrant = next;
    },
    requests: () => log.map((entry) => ({ ...entry })),
    deliveries: () =>
      webhooks.deliveries().map(({ id, event, payload, status }) => ({ id, event, payload, status })),
    redeliver: (id) => webhooks.redeliver(id),
    setWebhook: (target) => webhooks.retarget(target),
    settled: async () => {
      await core.settled();
      await webhooks.settled();
    },
    pushCommit: (branch, input) => pushCommit(core, branch, input),
    openPull: (input) => openPull(core, input),
    openForkPull: (input) => openFork(core, input),
    pushToPull: (number, input) => pushToPull(core, number, input),
    closePull: (number) => setPullState(core, number, 'closed'),
    reopenPull: (number) => setPullState(core, number, 'open'),
    mergePull: (number) => mergePullRequest(core, number),
    routes: () => router.keys(),
    storedText: () => JSON.stringify({ state: core.state, deliveries: webhooks.deliveries() }),
    close: closeOnce(core, server),
  };
}

/** Resolves once the server is bound to `port` (0: any free one). */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The repository as the stand-in presents it, at the address the server is bound to. */
function siteAt(server: Server, owner: string, name: string, now: () => number): Site {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    apiUrl: `http://${host}:${address.port}`,
    owner,
    name,
    repoId: stableId(`repo:${owner}/${name}`),
    createdAt: isoSeconds(now()),
  };
}

/** Stops CI plans, lets queued work and webhooks finish, then closes the server; later calls do nothing. */
function closeOnce(core: StandInCore, server: Server): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    await core.planner.close();
    await core.settled();
    core.webhooks.close();
    await core.webhooks.settled();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
}
