/** What a deploy needs from the forge: a ref's commit, its tree, source and service file, and where to report. */
export interface SourceOfCommits {
  branchSha(ref: string): Promise<string>;
  /** The commit's git tree: commits with one tree build one image (see image-plan.ts). */
  commitTree(sha: string): Promise<string>;
  tarball(sha: string): Promise<Buffer>;
  /** `lugh.yml` at the commit (the services it declares, see service-set.ts); undefined: it has none. */
  serviceFile(sha: string): Promise<string | undefined>;
  setDeploymentStatus?(
    githubDeploymentId: number,
    state: 'in_progress' | 'success' | 'failure' | 'error',
    description: string,
  ): Promise<void>;
}
