import { mergeBranches } from '../branch-updates.js';
import { commitJson, gitRefJson } from '../commit-json.js';
import type { StandInCore } from '../core.js';
import { GitHubApiError, notFound } from '../errors.js';
import { refreshPull, touches } from '../pulls.js';
import type { Route } from '../route-types.js';
import { emitPush } from '../webhook-events.js';

/** PATCH …/git/refs/{ref}: a fast-forward, or with `force` any move (refused on a protected branch). */
async function moveRef(core: StandInCore, ref: string, body: Readonly<Record<string, unknown>>) {
  const { sha, force } = body;
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha) || !(await core.repo.resolveCommit(sha))) {
    throw new GitHubApiError(422, 'Object does not exist');
  }
  const fullRef = `refs/${ref}`;
  return core.exclusive(async () => {
    const before = (await core.repo.refTarget(fullRef))?.sha;
    if (!before) throw new GitHubApiError(422, 'Reference does not exist');
    const fastForward = await core.repo.isAncestor(before, sha);
    if (!fastForward && force !== true) throw new GitHubApiError(422, 'Update is not a fast forward');
    const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined;
    if (!fastForward && branch && core.state.protections.has(branch)) {
      throw new GitHubApiError(422, 'Cannot force-push to this branch');
    }
    if (!(await core.repo.compareAndSwapRef(fullRef, sha, before))) {
      throw new GitHubApiError(422, 'Reference cannot be updated');
    }
    core.pushedAt = core.timestamp();
    const commits = fastForward ? await core.repo.commitsBetween(before, sha) : [await core.repo.commit(sha)];
    core.background(
      emitPush(core, { ref: fullRef, before, after: sha, commits }).then(async () => {
        for (const pr of core.state.pulls) if (touches(pr, branch)) await refreshPull(core, pr);
      }),
    );
    return gitRefJson(core.site, fullRef, (await core.repo.refTarget(fullRef))!);
  });
}

/** Writes that move a branch without a pull request: merging into it, and moving its ref. */
export const branchWriteRoutes: Route[] = [
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/merges',
    operationId: 'repos/merge',
    handle: async (core, { body }) => {
      const merged = await mergeBranches(core, body);
      if (!merged) return { status: 204 };
      const info = await core.repo.commit(merged);
      const json = commitJson(core.site, info, await core.repo.changes(info.parents[0], merged));
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'PATCH',
    path: '/repos/{owner}/{repo}/git/refs/{ref}',
    operationId: 'git/update-ref',
    handle: async (core, { params, body }) => {
      if (!params.ref) throw notFound();
      return { status: 200, body: await moveRef(core, params.ref, body) };
    },
  },
];
