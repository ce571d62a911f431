import { updatePullBranch } from '../branch-updates.js';
import type { StandInCore } from '../core.js';
import { invalidField } from '../errors.js';
import { paginate } from '../pagination.js';
import { pullJson } from '../pull-json.js';
import { createPull } from '../pull-open.js';
import { findPull, mergePull, pullDetail, refreshPull, updatePull } from '../pulls.js';
import { addReview, reviewJson } from '../reviews.js';
import type { Route } from '../route-types.js';
import type { PullRecord } from '../state.js';

async function fullPull(core: StandInCore, pr: PullRecord, observe: boolean) {
  const detail = await pullDetail(core, pr, { observe });
  return pullJson(core.site, pr, await core.repositoryJson(), detail);
}

/** Pull requests: open, list, read (with mergeability), update or close, review, update from base, merge. */
export const pullRoutes: Route[] = [
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/pulls',
    operationId: 'pulls/create',
    handle: async (core, { body }) => {
      const pr = await createPull(core, body);
      const json = await fullPull(core, pr, false);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls',
    operationId: 'pulls/list',
    handle: async (core, { query, url }) => {
      const state = query.get('state') ?? 'open';
      if (!['open', 'closed', 'all'].includes(state)) throw invalidField('PullRequest', 'state');
      const sort = query.get('sort') ?? 'created';
      if (!['created', 'updated', 'popularity', 'long-running'].includes(sort))
        throw invalidField('PullRequest', 'sort');
      const direction = query.get('direction') ?? 'desc';
      const head = query.get('head');
      const base = query.get('base');
      for (const pr of core.state.pulls) await refreshPull(core, pr);
      const matching = core.state.pulls.filter((pr) => {
        if (state !== 'all' && pr.state !== state) return false;
        if (base && pr.base !== base) return false;
        if (head) {
          // GitHub wants user:ref; a bare branch name matches nothing from this owner.
          const [owner, ...ref] = head.split(':');
          const headOwner = pr.headRepo?.owner ?? core.site.owner;
          if (ref.length === 0 || owner !== headOwner || pr.head !== ref.join(':')) return false;
        }
        return true;
      });
      const key = (pr: PullRecord) =>
        (sort === 'updated' ? pr.updatedAt : pr.createdAt) + String(pr.number).padStart(9, '0');
      matching.sort((a, b) => key(a).localeCompare(key(b)));
      if (direction === 'desc') matching.reverse();
      const repository = await core.repositoryJson();
      const { page, headers } = paginate(matching, query, url);
      return { status: 200, body: page.map((pr) => pullJson(core.site, pr, repository)), headers };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}',
    operationId: 'pulls/get',
    handle: async (core, { params }) => {
      const pr = findPull(core, params.pull_number!);
      await refreshPull(core, pr);
      return { status: 200, body: await fullPull(core, pr, true) };
    },
    stale: (core, params) => core.state.pull(Number(params.pull_number))?.beforeMerge,
  },
  {
    method: 'PATCH',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}',
    operationId: 'pulls/update',
    handle: async (core, { params, body }) => {
      const pr = findPull(core, params.pull_number!);
      await updatePull(core, pr, body);
      return { status: 200, body: await fullPull(core, pr, false) };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    operationId: 'pulls/list-reviews',
    handle: async (core, { params, query, url }) => {
      const pr = findPull(core, params.pull_number!);
      // Pending reviews are seen only by their author, who is the token here too.
      const reviews = core.state.reviews.filter((r) => r.pullNumber === pr.number);
      const { page, headers } = paginate(reviews, query, url);
      return { status: 200, body: page.map((r) => reviewJson(core.site, r)), headers };
    },
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    operationId: 'pulls/create-review',
    handle: async (core, { params, body }) => {
      const pr = findPull(core, params.pull_number!);
      await refreshPull(core, pr);
      return { status: 200, body: reviewJson(core.site, addReview(core, pr, core.actor, body)) };
    },
  },
  {
    method: 'PUT',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/update-branch',
    operationId: 'pulls/update-branch',
    handle: async (core, { params, body }) => {
      const pr = findPull(core, params.pull_number!);
      await updatePullBranch(core, pr, body);
      const url = `${core.site.apiUrl}/repos/${core.site.owner}/${core.site.name}/pulls/${pr.number}`;
      return { status: 202, body: { message: 'Updating pull request branch.', url } };
    },
  },
  {
    method: 'PUT',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
    operationId: 'pulls/merge',
    handle: async (core, { params, body }) => {
      const pr = findPull(core, params.pull_number!);
      const sha = await mergePull(core, pr, body);
      return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
    },
  },
];
