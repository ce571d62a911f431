import { ForgeUnavailableError } from '../errors.js';
import type { DeploymentOptions, ForgeDeployment, ForgeDeploymentState } from '../forge.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/**
 * A deployment of `sha`. A transient one (a preview) is never a production environment and
 * goes away: GitHub shows it destroyed once its status is `inactive`. The request is never
 * retried blindly (see the client); for a transient one, a 5xx or a timeout is followed by a
 * look for the deployment GitHub may have made before its answer was lost, then one more try.
 * (A production deployment's caller looks it up itself, by the promotion in its payload.)
 */
export async function createDeployment(
  gh: GitHubRepo,
  sha: string,
  environment: string,
  description: string,
  payload: Record<string, unknown> = {},
  options: DeploymentOptions = {},
): Promise<{ id: number }> {
  const { octokit, base } = gh;
  const transient = options.transient === true;
  const create = async () => {
    const { data } = await octokit.rest.repos.createDeployment({
      ...base,
      ref: sha,
      environment,
      description,
      payload,
      auto_merge: false,
      required_contexts: [],
      production_environment: !transient && environment === 'production',
      ...(transient ? { transient_environment: true } : {}),
    });
    if (!('id' in data))
      throw new Error(`GitHub did not create the deployment: ${data.message ?? 'no reason given'}`);
    return { id: data.id };
  };
  try {
    return await create();
  } catch (error) {
    const named = classifyGitHubError(error);
    if (!transient || !(named instanceof ForgeUnavailableError)) throw named;
    const made = await madeAlready(gh, sha, environment, description, payload);
    if (made !== undefined) return { id: made };
    try {
      return await create();
    } catch (again) {
      throw classifyGitHubError(again);
    }
  }
}

/** The newest deployment of `sha` to `environment` with this description and payload, if any. */
async function madeAlready(
  { octokit, base }: GitHubRepo,
  sha: string,
  environment: string,
  description: string,
  payload: Record<string, unknown>,
): Promise<number | undefined> {
  const { data } = await classified(() =>
    octokit.rest.repos.listDeployments({ ...base, sha, environment, per_page: 10 }),
  );
  const wanted = JSON.stringify(payload);
  return data.find((d) => d.description === description && JSON.stringify(d.payload) === wanted)?.id;
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

/**
 * A new status of a deployment; `environmentUrl` is where it can be seen ("View deployment").
 * GitHub's auto_inactive is left on (its default): a `success` retires the earlier successful
 * non-transient deployments of the environment.
 */
export async function setDeploymentStatus(
  { octokit, base }: GitHubRepo,
  deploymentId: number,
  state: ForgeDeploymentState,
  description: string,
  environmentUrl?: string,
): Promise<void> {
  await classified(() =>
    octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id: deploymentId,
      state,
      // GitHub rejects a longer description.
      description: description.slice(0, 140),
      ...(environmentUrl === undefined ? {} : { environment_url: environmentUrl }),
    }),
  );
}
