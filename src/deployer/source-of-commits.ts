/** What a deploy needs from the forge: a ref's commit, its tree and source, and where to report. */
export interface SourceOfCommits {
  branchSha(ref: string): Promise<string>;
  /** The commit's git tree: commits with one tree build one image (see image-plan.ts). */
  commitTree(sha: string): Promise<string>;
  tarball(sha: string): Promise<Buffer>;
  setDeploymentStatus?(
    githubDeploymentId: number,
    state: 'in_progress' | 'success' | 'failure' | 'error',
    description: string,
  ): Promise<void>;
}
