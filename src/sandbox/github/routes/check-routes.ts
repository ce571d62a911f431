import { checkRunJson, checkSuiteJson, combinedStatusJson, statusJson } from '../check-json.js';
import type { StandInCore } from '../core.js';
import { GitHubApiError, invalidField, missingField, notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import type { Route } from '../route-types.js';
import type { CheckRunRecord, StatusRecord } from '../state.js';
import { emitStatus } from '../webhook-events.js';

const STATUS_STATES = new Set(['pending', 'success', 'failure', 'error']);

async function commitOr404(core: StandInCore, ref: string): Promise<string> {
  const sha = await core.repo.resolveCommit(ref);
  if (!sha) throw notFound();
  return sha;
}

/** Check runs and suites (what Actions reports) and commit statuses (what older CI posts). */
export const checkRoutes: Route[] = [
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/check-runs',
    operationId: 'checks/list-for-ref',
    handle: async (core, { params, query, url }) => {
      const sha = await commitOr404(core, params.ref!);
      const filter = query.get('filter') ?? 'latest';
      if (filter !== 'latest' && filter !== 'all') throw invalidField('CheckRun', 'filter');
      let runs = core.state.checkRuns.filter((r) => r.headSha === sha);
      if (filter === 'latest') {
        // As on GitHub, `latest` keeps the newest run of a name *within each check suite*: a new
        // workflow run on the same commit (a re-run, a reopened pull request, an `edited` event,
        // workflow_dispatch) is a new suite, and the older suite's run stays listed beside it.
        const latest = new Map<string, CheckRunRecord>();
        for (const run of runs) latest.set(`${run.suiteId}\x00${run.name}`, run);
        runs = [...latest.values()];
      }
      const name = query.get('check_name');
      const status = query.get('status');
      if (name) runs = runs.filter((r) => r.name === name);
      if (status) runs = runs.filter((r) => r.status === status);
      runs = [...runs].reverse();
      const pulls = core.openPullsAt(sha);
      const { page, headers } = paginate(runs, query, url);
      return {
        status: 200,
        body: { total_count: runs.length, check_runs: page.map((r) => checkRunJson(core.site, r, pulls)) },
        headers,
      };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/check-suites',
    operationId: 'checks/list-suites-for-ref',
    handle: async (core, { params, query, url }) => {
      const sha = await commitOr404(core, params.ref!);
      const suites = core.state.checkSuites.filter((s) => s.headSha === sha);
      const headCommit = await core.repo.commit(sha);
      const repository = await core.repositoryJson();
      const pulls = core.openPullsAt(sha);
      const { page, headers } = paginate(suites, query, url);
      return {
        status: 200,
        body: {
          total_count: suites.length,
          check_suites: page.map((suite) =>
            checkSuiteJson(core.site, suite, {
              headCommit,
              repository,
              runs: core.state.checkRuns.filter((r) => r.suiteId === suite.id).length,
              pulls,
            }),
          ),
        },
        headers,
      };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/status',
    operationId: 'repos/get-combined-status-for-ref',
    // Pages its statuses like a list (per_page 30 by default, at most 100, with Link);
    // total_count and state are of every latest status, not only the page's.
    handle: async (core, { params, query, url }) => {
      const sha = await commitOr404(core, params.ref!);
      const statuses = core.state.statuses.filter((s) => s.sha === sha);
      const body = combinedStatusJson(core.site, sha, statuses, await core.repositoryJson());
      const { page, headers } = paginate(body.statuses, query, url);
      return { status: 200, body: { ...body, statuses: page }, headers };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/statuses',
    operationId: 'repos/list-commit-statuses-for-ref',
    handle: async (core, { params, query, url }) => {
      const sha = await commitOr404(core, params.ref!);
      const statuses = core.state.statuses.filter((s) => s.sha === sha).reverse();
      const { page, headers } = paginate(statuses, query, url);
      return { status: 200, body: page.map((s) => statusJson(core.site, s)), headers };
    },
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/statuses/{sha}',
    operationId: 'repos/create-commit-status',
    handle: async (core, { params, body }) => {
      const sha = await core.repo.resolveCommit(params.sha!);
      if (!sha) throw new GitHubApiError(422, `No commit found for SHA: ${params.sha}`);
      if (body.state === undefined) throw missingField('Status', 'state');
      if (typeof body.state !== 'string' || !STATUS_STATES.has(body.state))
        throw invalidField('Status', 'state');
      const status: StatusRecord = {
        id: core.state.nextId('status'),
        sha,
        state: body.state as StatusRecord['state'],
        context: typeof body.context === 'string' && body.context !== '' ? body.context : 'default',
        description: typeof body.description === 'string' ? body.description : null,
        targetUrl: typeof body.target_url === 'string' ? body.target_url : null,
        createdAt: core.timestamp(),
        creator: core.actor,
      };
      core.state.statuses.push(status);
      core.background(emitStatus(core, status));
      const json = statusJson(core.site, status);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
];
