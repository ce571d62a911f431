import type { ForgeDeployment, ForgeDeploymentState } from '../forge.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

export async function createDeployment(
  { octokit, base }: GitHubRepo,
  sha: string,
  environment: string,
  description: string,
  payload: Record<string, unknown> = {},
): Promise<{ id: number }> {
  const { data } = await classified(() =>
    octokit.rest.repos.createDeployment({
      ...base,
      ref: sha,
      environment,
      description,
      payload,
      auto_merge: false,
      required_contexts: [],
      production_environment: environment === 'production',
    }),
  );
  if (!('id' in data))
    throw new Error(`GitHub did not create the deployment: ${data.message ?? 'no reason given'}`);
  return { id: data.id };
}

/** A conditional request (see the client): 304 when none changed, which costs no rate limit. */
export async function listDeployments(
  { octokit, base }: GitHubRepo,
  environment: string,
  perPage = 10,
): Promise<ForgeDeployment[]> {
  const { data } = await classified(() =>
    octokit.rest.repos.listDeployments({ ...base, environment, per_page: perPage }),
  );
  return data.map((d) => ({
    id: d.id,
    sha: d.sha,
    ref: d.ref,
    environment: d.environment,
    createdAt: new Date(d.created_at),
    payload:
      typeof d.payload === 'object' && d.payload !== null ? (d.payload as Record<string, unknown>) : {},
    creator: d.creator?.login,
  }));
}

export async function setDeploymentStatus(
  { octokit, base }: GitHubRepo,
  deploymentId: number,
  state: ForgeDeploymentState,
  description: string,
): Promise<void> {
  await classified(() =>
    octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id: deploymentId,
      state,
      // GitHub rejects a longer description.
      description: description.slice(0, 140),
    }),
  );
}
