/** What a deploy needs from the forge: a ref's commit, its source, and where to report. */
export interface SourceOfCommits {
  branchSha(ref: string): Promise<string>;
  tarball(sha: string): Promise<Buffer>;
  setDeploymentStatus?(
    githubDeploymentId: number,
    state: 'in_progress' | 'success' | 'failure' | 'error',
    description: string,
  ): Promise<void>;
}
