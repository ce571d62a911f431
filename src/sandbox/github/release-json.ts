import { userJson } from './account-json.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';
import type { DeploymentRecord, DeploymentStatusRecord, ReleaseRecord } from './state.js';

/** release (without assets: the stand-in accepts no uploads) */
export function releaseJson(site: Site, release: ReleaseRecord) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const tag = encodeURIComponent(release.tagName);
  return {
    url: `${api}/releases/${release.id}`,
    assets_url: `${api}/releases/${release.id}/assets`,
    upload_url: `${api}/releases/${release.id}/assets{?name,label}`,
    html_url: release.draft ? `${html}/releases/tag/untagged-${release.id}` : `${html}/releases/tag/${tag}`,
    id: release.id,
    author: userJson(site, release.author),
    node_id: nodeId('RE', release.id),
    tag_name: release.tagName,
    target_commitish: release.targetCommitish,
    name: release.name,
    draft: release.draft,
    immutable: false,
    prerelease: release.prerelease,
    created_at: release.createdAt,
    updated_at: release.createdAt,
    published_at: release.publishedAt,
    assets: [],
    tarball_url: release.draft ? null : `${api}/tarball/${tag}`,
    zipball_url: release.draft ? null : `${api}/zipball/${tag}`,
    body: release.body,
  };
}

/** deployment */
export function deploymentJson(site: Site, deployment: DeploymentRecord) {
  const api = repoApiUrl(site);
  return {
    url: `${api}/deployments/${deployment.id}`,
    id: deployment.id,
    node_id: nodeId('DE', deployment.id),
    sha: deployment.sha,
    ref: deployment.ref,
    task: deployment.task,
    payload: deployment.payload,
    original_environment: deployment.environment,
    environment: deployment.environment,
    description: deployment.description,
    creator: userJson(site, deployment.creator),
    created_at: deployment.createdAt,
    updated_at: deployment.updatedAt,
    statuses_url: `${api}/deployments/${deployment.id}/statuses`,
    repository_url: api,
    transient_environment: deployment.transientEnvironment,
    production_environment: deployment.productionEnvironment,
  };
}

/** deployment-status */
export function deploymentStatusJson(site: Site, status: DeploymentStatusRecord) {
  const api = repoApiUrl(site);
  return {
    url: `${api}/deployments/${status.deploymentId}/statuses/${status.id}`,
    id: status.id,
    node_id: nodeId('DES', status.id),
    state: status.state,
    creator: userJson(site, status.creator),
    description: status.description,
    environment: status.environment,
    target_url: status.targetUrl,
    created_at: status.createdAt,
    updated_at: status.createdAt,
    deployment_url: `${api}/deployments/${status.deploymentId}`,
    repository_url: api,
    environment_url: status.environmentUrl,
    log_url: status.logUrl,
  };
}
