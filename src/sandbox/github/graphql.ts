// POST /graphql: the part of GitHub's GraphQL API lugh asks for, answered by the real `graphql`
// executor over a subset of GitHub's own schema (its type, field and enum names; a test checks
// every declared field against @octokit/graphql-schema). Answers as GitHub does: HTTP 200 with
// `data` and `errors` (a query the schema refuses has no `data`).
import { buildSchema, type ExecutionResult, GraphQLError, graphql } from 'graphql';
import { latestStatuses } from './check-json.js';
import type { StandInCore } from './core.js';
import { pullDetail, refreshPull } from './pulls.js';
import { repoHtmlUrl } from './site.js';
import type { CheckRunRecord, PullRecord, StatusRecord } from './state.js';

/** GitHub's SDL, only the types and fields served here (same names, same types). */
export const STAND_IN_GRAPHQL_SDL = /* GraphQL */ `
  scalar URI
  scalar GitObjectID
  scalar DateTime

  type Query {
    repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  }

  type Repository {
    name: String!
    nameWithOwner: String!
    pullRequest(number: Int!): PullRequest
  }

  enum PullRequestState { CLOSED MERGED OPEN }
  enum MergeableState { CONFLICTING MERGEABLE UNKNOWN }
  enum MergeStateStatus { BEHIND BLOCKED CLEAN DIRTY DRAFT HAS_HOOKS UNKNOWN UNSTABLE }

  type PullRequest {
    number: Int!
    url: URI!
    state: PullRequestState!
    merged: Boolean!
    mergeable: MergeableState!
    mergeStateStatus: MergeStateStatus!
    isDraft: Boolean!
    mergeCommit: Commit
    headRefOid: GitObjectID!
    headRefName: String!
    baseRefName: String!
    commits(after: String, before: String, first: Int, last: Int): PullRequestCommitConnection!
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  type PullRequestCommitConnection {
    nodes: [PullRequestCommit]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type PullRequestCommit {
    commit: Commit!
  }

  interface GitObject {
    oid: GitObjectID!
  }

  type Commit implements GitObject {
    oid: GitObjectID!
    statusCheckRollup: StatusCheckRollup
  }

  enum StatusState { ERROR EXPECTED FAILURE PENDING SUCCESS }
  enum CheckStatusState { COMPLETED IN_PROGRESS PENDING QUEUED REQUESTED WAITING }
  enum CheckConclusionState {
    ACTION_REQUIRED CANCELLED FAILURE NEUTRAL SKIPPED STALE STARTUP_FAILURE SUCCESS TIMED_OUT
  }

  type StatusCheckRollup {
    state: StatusState!
    contexts(after: String, before: String, first: Int, last: Int): StatusCheckRollupContextConnection!
  }

  union StatusCheckRollupContext = CheckRun | StatusContext

  type StatusCheckRollupContextConnection {
    nodes: [StatusCheckRollupContext]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type App {
    databaseId: Int
  }

  type CheckSuite {
    app: App
  }

  type CheckRun {
    databaseId: Int
    name: String!
    status: CheckStatusState!
    conclusion: CheckConclusionState
    startedAt: DateTime
    url: URI!
    detailsUrl: URI
    checkSuite: CheckSuite!
  }

  type StatusContext {
    context: String!
    state: StatusState!
    targetUrl: URI
  }
`;

const schema = buildSchema(STAND_IN_GRAPHQL_SDL);

/** The Actions app, as GitHub names the app of every check suite the stand-in runs. */
const ACTIONS_APP = { databaseId: 15368 };

interface PageArgs {
  readonly first?: number | null;
  readonly last?: number | null;
  readonly after?: string | null;
  readonly before?: string | null;
}

const cursorOf = (index: number) => Buffer.from(`cursor:v2:${index}`).toString('base64');
function indexOf(cursor: string): number {
  const m = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) throw new GraphQLError(`\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(m[1]);
}

/** One page of a connection, with GitHub's refusals: first or last is required, at most 100. */
function connection<T>(name: string, items: readonly T[], args: PageArgs) {
  const { first, last } = args;
  if (first == null && last == null) {
    throw new GraphQLError(
      `You must provide a \`first\` or \`last\` value to properly paginate the \`${name}\` connection.`,
    );
  }
  for (const [arg, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value != null && value > 100) {
      throw new GraphQLError(
        `Requesting ${value} records on the \`${name}\` connection exceeds the \`${arg}\` limit of 100 records.`,
      );
    }
  }
  let start = args.after ? indexOf(args.after) + 1 : 0;
  let end = args.before ? indexOf(args.before) : items.length;
  if (first != null) end = Math.min(end, start + first);
  if (last != null) start = Math.max(start, end - last);
  return {
    nodes: items.slice(start, end),
    totalCount: items.length,
    pageInfo: {
      startCursor: end > start ? cursorOf(start) : null,
      endCursor: end > start ? cursorOf(end - 1) : null,
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
    },
  };
}

function checkRunNode(core: StandInCore, run: CheckRunRecord) {
  const html = `${repoHtmlUrl(core.site)}/actions/runs/${run.suiteId}/job/${run.id}`;
  return {
    __typename: 'CheckRun',
    // Int: an id past 2^31 (as check-run ids are) cannot be answered as one: the field errs.
    databaseId: run.id,
    name: run.name,
    status: run.status.toUpperCase(),
    conclusion: run.conclusion?.toUpperCase() ?? null,
    startedAt: run.startedAt,
    url: html,
    detailsUrl: html,
    checkSuite: { app: ACTIONS_APP },
  };
}

function statusNode(status: StatusRecord) {
  return {
    __typename: 'StatusContext',
    context: status.context,
    state: status.state.toUpperCase(),
    targetUrl: status.targetUrl,
  };
}

/**
 * The head's checks as GitHub rolls them up: the latest run of each name within each check
 * suite (a re-run's suite sits beside the old one, as in the REST listing) and the latest status
 * of each context; null when nothing reported. Failure beats pending beats success.
 */
function statusCheckRollup(core: StandInCore, sha: string) {
  const latest = new Map<string, CheckRunRecord>();
  for (const run of core.state.checkRuns.filter((r) => r.headSha === sha))
    latest.set(`${run.suiteId}\x00${run.name}`, run);
  const runs = [...latest.values()];
  const statuses = latestStatuses(core.state.statuses.filter((s) => s.sha === sha));
  if (runs.length === 0 && statuses.length === 0) return null;
  const failed =
    runs.some((r) => r.status === 'completed' && r.conclusion !== 'success') ||
    statuses.some((s) => s.state === 'failure' || s.state === 'error');
  const pending = runs.some((r) => r.status !== 'completed') || statuses.some((s) => s.state === 'pending');
  const contexts = [...runs.map((r) => checkRunNode(core, r)), ...statuses.map(statusNode)];
  return {
    state: failed ? 'FAILURE' : pending ? 'PENDING' : 'SUCCESS',
    contexts: (args: PageArgs) => connection('contexts', contexts, args),
  };
}

function commitNode(core: StandInCore, sha: string) {
  return { __typename: 'Commit', oid: sha, statusCheckRollup: () => statusCheckRollup(core, sha) };
}

/** A pull request's fields; asking for `mergeable` or `mergeStateStatus` starts GitHub's computation, as the REST read does. */
async function pullRequestNode(core: StandInCore, pr: PullRecord) {
  await refreshPull(core, pr);
  let detail: Promise<Awaited<ReturnType<typeof pullDetail>>> | undefined;
  const observed = () => {
    detail ??= pullDetail(core, pr, { observe: true });
    return detail;
  };
  const merged = pr.mergedAt !== null;
  return {
    number: pr.number,
    url: `${repoHtmlUrl(core.site)}/pull/${pr.number}`,
    state: merged ? 'MERGED' : pr.state.toUpperCase(),
    merged,
    mergeable: async () => {
      const { mergeable } = await observed();
      return mergeable === null ? 'UNKNOWN' : mergeable ? 'MERGEABLE' : 'CONFLICTING';
    },
    mergeStateStatus: async () => (await observed()).mergeableState.toUpperCase(),
    isDraft: pr.draft,
    mergeCommit: merged && pr.mergeCommitSha ? commitNode(core, pr.mergeCommitSha) : null,
    headRefOid: pr.headSha,
    headRefName: pr.head,
    baseRefName: pr.base,
    commits: async (args: PageArgs) => {
      const commits = await core.repo.commitsBetween(pr.baseSha, pr.headSha);
      const nodes = commits.map((c) => ({ commit: commitNode(core, c.sha) }));
      return connection('commits', nodes, args);
    },
  };
}

function rootValue(core: StandInCore) {
  return {
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const { site } = core;
      if (
        owner.toLowerCase() !== site.owner.toLowerCase() ||
        name.toLowerCase() !== site.name.toLowerCase()
      ) {
        throw Object.assign(
          new GraphQLError(`Could not resolve to a Repository with the name '${owner}/${name}'.`),
          { githubType: 'NOT_FOUND' },
        );
      }
      return {
        name: site.name,
        nameWithOwner: `${site.owner}/${site.name}`,
        pullRequest: async ({ number }: { number: number }) => {
          const pr = core.state.pull(number);
          if (!pr) {
            throw Object.assign(
              new GraphQLError(`Could not resolve to a PullRequest with the number of ${number}.`),
              { githubType: 'NOT_FOUND' },
            );
          }
          return pullRequestNode(core, pr);
        },
      };
    },
  };
}

/** GitHub's error shape: a `type` beside the message and path (NOT_FOUND for a missing object). */
function errorJson(error: GraphQLError) {
  const type = (error.originalError as { githubType?: string } | undefined)?.githubType;
  return {
    ...(type ? { type } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.locations ? { locations: error.locations } : {}),
    message: error.message,
  };
}

/** Answers one POST /graphql body: `{data, errors}`, always with HTTP 200 as GitHub does. */
export async function answerGraphql(core: StandInCore, body: Readonly<Record<string, unknown>>) {
  const { query, variables, operationName } = body;
  if (typeof query !== 'string' || query.trim() === '') {
    return { errors: [{ message: 'A query attribute must be specified and must be a string.' }] };
  }
  const result: ExecutionResult = await graphql({
    schema,
    source: query,
    rootValue: rootValue(core),
    variableValues: (variables as Record<string, unknown> | null | undefined) ?? undefined,
    operationName: typeof operationName === 'string' ? operationName : undefined,
  });
  return {
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors?.length ? { errors: result.errors.map(errorJson) } : {}),
  };
}
