import { notProtected, parseProtection, protectionJson } from '../branch-protection.js';
import type { StandInCore } from '../core.js';
import { GitHubApiError } from '../errors.js';
import type { Route } from '../route-types.js';

async function existingBranch(core: StandInCore, branch: string): Promise<string> {
  if (!(await core.repo.branchSha(branch))) throw new GitHubApiError(404, 'Branch not found');
  return branch;
}

/** A branch's protection: read it (404 "Branch not protected" when none) and replace it. */
export const protectionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/branches/{branch}/protection',
    operationId: 'repos/get-branch-protection',
    handle: async (core, { params }) => {
      const branch = await existingBranch(core, params.branch!);
      const protection = core.state.protections.get(branch);
      if (!protection) throw notProtected();
      return { status: 200, body: protectionJson(core.site, branch, protection) };
    },
  },
  {
    method: 'PUT',
    path: '/repos/{owner}/{repo}/branches/{branch}/protection',
    operationId: 'repos/update-branch-protection',
    handle: async (core, { params, body }) => {
      const branch = await existingBranch(core, params.branch!);
      const protection = parseProtection(body);
      core.state.protections.set(branch, protection);
      return { status: 200, body: protectionJson(core.site, branch, protection) };
    },
  },
];
