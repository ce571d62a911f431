// One GraphQL query for what the CI stage reads together: the pull request (asking for its
// mergeability makes GitHub compute it, as the REST read does) and its head's checks, check
// runs and commit statuses both (statusCheckRollup). One request and one point, where REST
// takes three: the pull request, the check runs and the combined status.
import { checkRunState, summarizeChecks } from '../ci-summary.js';
import { NotFoundError } from '../errors.js';
import type { CheckLine, CiState, PullRequestInfo } from '../forge.js';
import { ciState, latestRuns } from './checks.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** The query lugh sends (tests validate it against GitHub's published schema). */
export const PULL_SNAPSHOT_QUERY = /* GraphQL */ `
  query PullSnapshot($owner: String!, $name: String!, $number: Int!) {
    repository(owner: $owner, name: $name) {
      pullRequest(number: $number) {
        number
        url
        state
        merged
        mergeable
        mergeStateStatus
        isDraft
        mergeCommit { oid }
        headRefOid
        headRefName
        baseRefName
        commits(last: 1) {
          nodes {
            commit {
              oid
              statusCheckRollup {
                contexts(first: 100) {
                  totalCount
                  pageInfo { hasNextPage }
                  nodes {
                    __typename
                    ... on CheckRun {
                      name
                      status
                      conclusion
                      startedAt
                      url
                      detailsUrl
                      checkSuite { app { databaseId } }
                    }
                    ... on StatusContext { context state targetUrl }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

type Context =
  | {
      readonly __typename: 'CheckRun';
      readonly name: string;
      readonly status: string;
      readonly conclusion: string | null;
      readonly startedAt: string | null;
      readonly url: string;
      readonly detailsUrl: string | null;
      readonly checkSuite: { readonly app: { readonly databaseId: number | null } | null };
    }
  | {
      readonly __typename: 'StatusContext';
      readonly context: string;
      readonly state: string;
      readonly targetUrl: string | null;
    };

interface SnapshotJson {
  readonly repository: {
    readonly pullRequest: {
      readonly number: number;
      readonly url: string;
      readonly state: 'OPEN' | 'CLOSED' | 'MERGED';
      readonly merged: boolean;
      readonly mergeable: 'MERGEABLE' | 'CONFLICTING' | 'UNKNOWN';
      readonly mergeStateStatus: string;
      readonly isDraft: boolean;
      readonly mergeCommit: { readonly oid: string } | null;
      readonly headRefOid: string;
      readonly headRefName: string;
      readonly baseRefName: string;
      readonly commits: {
        readonly nodes: ReadonlyArray<{
          readonly commit: {
            readonly oid: string;
            readonly statusCheckRollup: {
              readonly contexts: {
                readonly totalCount: number;
                readonly pageInfo: { readonly hasNextPage: boolean };
                readonly nodes: readonly Context[];
              };
            } | null;
          };
        } | null>;
      };
    } | null;
  } | null;
}

export interface PullSnapshot {
  readonly pull: PullRequestInfo;
  /** CI of the pull request's head (`pull.headSha`). */
  readonly ci: CiState;
}

function pullInfo(pr: NonNullable<NonNullable<SnapshotJson['repository']>['pullRequest']>): PullRequestInfo {
  return {
    number: pr.number,
    url: pr.url,
    state: pr.state === 'OPEN' ? 'open' : 'closed',
    merged: pr.merged,
    mergeable: pr.mergeable === 'UNKNOWN' ? null : pr.mergeable === 'MERGEABLE',
    // GraphQL's MergeStateStatus is REST's mergeable_state in capitals.
    mergeableState: pr.mergeStateStatus.toLowerCase(),
    draft: pr.isDraft,
    mergeCommitSha: pr.merged ? (pr.mergeCommit?.oid ?? null) : null,
    headSha: pr.headRefOid,
    headRef: pr.headRefName,
    baseRef: pr.baseRefName,
  };
}

function lines(contexts: readonly Context[]): CheckLine[] {
  // No databaseId: GraphQL types it Int (32 bits) and check-run ids have outgrown that (a
  // GraphQL executor cannot answer such a value as Int). Of runs started in the same second, the later listed wins.
  const runs = contexts.flatMap((c, index) =>
    c.__typename === 'CheckRun'
      ? [
          {
            id: index,
            name: c.name,
            started_at: c.startedAt,
            app: c.checkSuite.app?.databaseId != null ? { id: c.checkSuite.app.databaseId } : null,
            status: c.status.toLowerCase(),
            conclusion: c.conclusion?.toLowerCase() ?? null,
            html_url: c.url,
            details_url: c.detailsUrl,
          },
        ]
      : [],
  );
  const checks: CheckLine[] = latestRuns(runs).map((run) => ({
    name: run.name,
    kind: 'check_run',
    state: checkRunState(run.status, run.conclusion),
    detail: run.status === 'completed' ? (run.conclusion ?? 'completed') : run.status,
    ...(run.html_url || run.details_url ? { url: (run.html_url || run.details_url)! } : {}),
  }));
  for (const c of contexts) {
    if (c.__typename !== 'StatusContext') continue;
    const state = c.state.toLowerCase();
    checks.push({
      name: c.context,
      kind: 'status',
      // EXPECTED: a required status not posted yet, as good as pending.
      state:
        state === 'pending' || state === 'expected' ? 'pending' : state === 'success' ? 'success' : 'failure',
      detail: state,
      ...(c.targetUrl ? { url: c.targetUrl } : {}),
    });
  }
  return checks.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The pull request and its head's CI in one GraphQL request. More than 100 checks on the head
 * (rare) are read over REST's pages instead, as ciState does.
 */
export async function pullSnapshot(gh: GitHubRepo, number: number): Promise<PullSnapshot> {
  const { octokit, repo } = gh;
  let json: SnapshotJson;
  try {
    json = await classified(() =>
      octokit.graphql<SnapshotJson>(PULL_SNAPSHOT_QUERY, { owner: repo.owner, name: repo.name, number }),
    );
  } catch (error) {
    // Octokit's GraphqlResponseError (a 200 with `errors`), which octokit does not export.
    const errors =
      error instanceof Error && error.name === 'GraphqlResponseError'
        ? (error as { errors?: unknown[] }).errors
        : undefined;
    const missing = (errors ?? []).some((e) => (e as { type?: string }).type === 'NOT_FOUND');
    if (missing) throw new NotFoundError(`pull request #${number} not found`);
    throw error;
  }
  const pr = json.repository?.pullRequest;
  if (!pr) throw new NotFoundError(`pull request #${number} not found`);
  const pull = pullInfo(pr);
  const head = pr.commits.nodes.at(-1)?.commit;
  // The head the commits list ends with moved between the two fields' reads: read its CI over REST.
  if (head?.oid !== pull.headSha) return { pull, ci: await ciState(gh, pull.headSha) };
  const contexts = head.statusCheckRollup?.contexts;
  if (!contexts) return { pull, ci: { overall: 'none', checks: [] } };
  if (contexts.pageInfo.hasNextPage) return { pull, ci: await ciState(gh, pull.headSha) };
  const checks = lines(contexts.nodes);
  return { pull, ci: { overall: summarizeChecks(checks), checks } };
}
