import type { RepoRef } from '../forge.js';
import type { GitHubClient } from './github-client.js';

/** One repository as every GitHub call of the forge addresses it. */
export interface GitHubRepo {
  readonly octokit: GitHubClient['octokit'];
  readonly repo: RepoRef;
  /** `{ owner, repo }`, the parameters every repository endpoint takes. */
  readonly base: { readonly owner: string; readonly repo: string };
}

export function gitHubRepo(client: GitHubClient, repo: RepoRef): GitHubRepo {
  return { octokit: client.octokit, repo, base: { owner: repo.owner, repo: repo.name } };
}
