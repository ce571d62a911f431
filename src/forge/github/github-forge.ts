import type { Forge, RepoRef } from '../forge.js';
import { ciState } from './checks.js';
import { createComment, updateComment } from './comments.js';
import {
  branchSha,
  commitDate,
  commitTree,
  compare,
  isAncestor,
  resolveCommit,
  tagsAt,
  tarball,
} from './commits.js';
import { fileAt } from './contents.js';
import { createDeployment, listDeployments, setDeploymentStatus } from './deployments.js';
import type { GitHubClient } from './github-client.js';
import { gitHubRepo } from './github-repo.js';
import { listOpenPulls, pullSummary } from './pull-list.js';
import {
  approvals,
  branchRules,
  findOpenPull,
  merge,
  mergeBranch,
  moveBranch,
  openOrReusePull,
  pull,
  updatePullBody,
  updatePullBranch,
} from './pull-requests.js';
import { pullSnapshot } from './pull-snapshot.js';
import { createRelease, latestReleaseTag, releaseNext } from './releases.js';

/** The forge on one GitHub repository, through one Octokit client. */
export function createGitHubForge(client: GitHubClient, repo: RepoRef): Forge {
  const gh = gitHubRepo(client, repo);
  return {
    repo,
    branchSha: (branch) => branchSha(gh, branch),
    resolveCommit: (ref) => resolveCommit(gh, ref),
    isAncestor: (sha, branch) => isAncestor(gh, sha, branch),
    compare: (baseRef, headRef) => compare(gh, baseRef, headRef),
    findOpenPull: (baseRef, headRef) => findOpenPull(gh, baseRef, headRef),
    openOrReusePull: (baseRef, headRef, title, body) => openOrReusePull(gh, baseRef, headRef, title, body),
    updatePullBody: (number, body) => updatePullBody(gh, number, body),
    pull: (number) => pull(gh, number),
    pullWithCi: (number) => pullSnapshot(gh, number),
    branchRules: (branch) => branchRules(gh, branch),
    approvals: (number) => approvals(gh, number),
    updatePullBranch: (number, expectedHeadSha) => updatePullBranch(gh, number, expectedHeadSha),
    mergeBranch: (baseRef, head, message) => mergeBranch(gh, baseRef, head, message),
    moveBranch: (branch, sha) => moveBranch(gh, branch, sha),
    ciState: (sha) => ciState(gh, sha),
    merge: (number, options) => merge(gh, number, options),
    tarball: (sha) => tarball(gh, sha),
    tagsAt: (sha, maxTags) => tagsAt(gh, sha, maxTags),
    commitTree: (sha) => commitTree(gh, sha),
    serviceFile: (sha) => fileAt(gh, sha, 'lugh.yml'),
    repoFile: (sha, path) => fileAt(gh, sha, path),
    commitDate: (sha) => commitDate(gh, sha),
    latestReleaseTag: () => latestReleaseTag(gh),
    createRelease: (tag, sha, previousTag) => createRelease(gh, tag, sha, previousTag),
    releaseNext: (sha, next) => releaseNext(gh, sha, next),
    createDeployment: (sha, environment, description, payload, options) =>
      createDeployment(gh, sha, environment, description, payload, options),
    listDeployments: (environment, perPage) => listDeployments(gh, environment, perPage),
    setDeploymentStatus: (deploymentId, state, description, environmentUrl) =>
      setDeploymentStatus(gh, deploymentId, state, description, environmentUrl),
    listOpenPulls: (baseRef) => listOpenPulls(gh, baseRef),
    pullSummary: (number) => pullSummary(gh, number),
    createComment: (number, body) => createComment(gh, number, body),
    updateComment: (commentId, body) => updateComment(gh, commentId, body),
  };
}
