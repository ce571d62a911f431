import { type Account, userJson } from './account-json.js';
import { repositoryJson } from './repository-json.js';
import { type Site, stableId } from './site.js';
import type { PullRecord } from './state.js';

/** The person who owns a fork (GitHub: a user account). */
export function forkOwnerAccount(owner: string): Account {
  return { login: owner, id: stableId(`user:${owner}`), type: 'User' };
}

/**
 * The repository a pull request's head lives in: this one, or for a fork its own repository
 * as GitHub shows it (fork: true, its owner, its full_name, and only read access for the token).
 */
export function headRepositoryJson(
  site: Site,
  pr: Pick<PullRecord, 'headRepo'>,
  repository: ReturnType<typeof repositoryJson>,
) {
  if (!pr.headRepo) return repository;
  const { owner, name } = pr.headRepo;
  const forkSite: Site = { ...site, owner, name, repoId: stableId(`repo:${owner}/${name}`) };
  return {
    ...repositoryJson(forkSite, {
      defaultBranch: repository.default_branch,
      pushedAt: repository.pushed_at,
      openIssues: 0,
    }),
    owner: userJson(site, forkOwnerAccount(owner)),
    description: repository.description,
    fork: true,
    permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
  };
}
