import type { StandInCore } from '../core.js';
import { GitHubApiError, invalidField, missingField, notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { deploymentJson, deploymentStatusJson } from '../release-json.js';
import type { Route } from '../route-types.js';
import type { DeploymentRecord, DeploymentStatusRecord } from '../state.js';

const STATES = new Set(['error', 'failure', 'inactive', 'pending', 'success', 'queued', 'in_progress']);

function findDeployment(core: StandInCore, raw: string): DeploymentRecord {
  const deployment = /^\d+$/.test(raw) ? core.state.deployments.find((d) => d.id === Number(raw)) : undefined;
  if (!deployment) throw notFound();
  return deployment;
}

/** Contexts of `sha` among `required` (all it has when undefined) whose latest report is not success. */
function failingContexts(core: StandInCore, sha: string, required: readonly string[] | undefined): string[] {
  const green = new Map<string, boolean>();
  for (const s of core.state.statuses) if (s.sha === sha) green.set(s.context, s.state === 'success');
  for (const r of core.state.checkRuns) if (r.headSha === sha) green.set(r.name, r.conclusion === 'success');
  return (required ?? [...green.keys()]).filter((name) => green.get(name) !== true);
}

/** Deployments and their statuses. */
export const deploymentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/deployments',
    operationId: 'repos/create-deployment',
    handle: async (core, { body }) => {
      if (typeof body.ref !== 'string' || body.ref === '') throw missingField('Deployment', 'ref');
      const sha = await core.repo.resolveCommit(body.ref);
      if (!sha) throw new GitHubApiError(422, `No ref found for: ${body.ref}`);
      const required = Array.isArray(body.required_contexts) ? body.required_contexts.map(String) : undefined;
      const failing = failingContexts(core, sha, required);
      if (failing.length > 0) {
        // GitHub refuses to deploy a commit whose required contexts are not all green.
        throw new GitHubApiError(409, `Conflict: Commit status checks failed for ${body.ref}.`, {
          errors: failing.map((context) => ({
            contexts: [{ context, state: 'pending' }],
            resource: 'Deployment',
            field: 'required_contexts',
            code: 'invalid',
          })),
        });
      }
      const environment =
        typeof body.environment === 'string' && body.environment !== '' ? body.environment : 'production';
      const at = core.timestamp();
      const deployment: DeploymentRecord = {
        id: core.state.nextId('deployment'),
        sha,
        ref: body.ref,
        task: typeof body.task === 'string' && body.task !== '' ? body.task : 'deploy',
        environment,
        payload:
          typeof body.payload === 'string' || (typeof body.payload === 'object' && body.payload !== null)
            ? (body.payload as Record<string, unknown> | string)
            : {},
        description: typeof body.description === 'string' ? body.description : null,
        transientEnvironment: body.transient_environment === true,
        productionEnvironment:
          typeof body.production_environment === 'boolean'
            ? body.production_environment
            : environment === 'production',
        creator: core.actor,
        createdAt: at,
        updatedAt: at,
      };
      core.state.deployments.push(deployment);
      const json = deploymentJson(core.site, deployment);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/deployments',
    operationId: 'repos/list-deployments',
    handle: async (core, { query, url }) => {
      const filters = ['sha', 'ref', 'task', 'environment'] as const;
      const deployments = core.state.deployments
        .filter((d) =>
          filters.every((f) => query.get(f) === null || query.get(f) === 'none' || d[f] === query.get(f)),
        )
        .reverse();
      const { page, headers } = paginate(deployments, query, url);
      return { status: 200, body: page.map((d) => deploymentJson(core.site, d)), headers };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/deployments/{deployment_id}',
    operationId: 'repos/get-deployment',
    handle: async (core, { params }) => ({
      status: 200,
      body: deploymentJson(core.site, findDeployment(core, params.deployment_id!)),
    }),
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    operationId: 'repos/create-deployment-status',
    handle: async (core, { params, body }) => {
      const deployment = findDeployment(core, params.deployment_id!);
      if (body.state === undefined) throw missingField('DeploymentStatus', 'state');
      if (typeof body.state !== 'string' || !STATES.has(body.state))
        throw invalidField('DeploymentStatus', 'state');
      const text = (value: unknown) => (typeof value === 'string' ? value : '');
      const logUrl = text(body.log_url) || text(body.target_url);
      const at = core.timestamp();
      const make = (
        d: DeploymentRecord,
        state: DeploymentStatusRecord['state'],
        description: string,
      ): DeploymentStatusRecord => ({
        id: core.state.nextId('deploymentStatus'),
        deploymentId: d.id,
        state,
        description,
        environment: d.environment,
        targetUrl: d === deployment ? logUrl : '',
        logUrl: d === deployment ? logUrl : '',
        environmentUrl: d === deployment ? text(body.environment_url) : '',
        creator: core.actor,
        createdAt: at,
      });
      const status = make(
        deployment,
        body.state as DeploymentStatusRecord['state'],
        text(body.description).slice(0, 140),
      );
      core.state.deploymentStatuses.push(status);
      deployment.updatedAt = at;
      // GitHub's auto_inactive (default true): a success retires the earlier deployments of the
      // environment whose latest state is success, except transient ones (the docs' rule:
      // "prior non-transient … deployments"; production ones too, since the flash preview ended).
      if (body.state === 'success' && body.auto_inactive !== false) {
        for (const other of core.state.deployments) {
          if (other.id >= deployment.id || other.environment !== deployment.environment) continue;
          if (other.transientEnvironment) continue;
          const last = core.state.deploymentStatuses.filter((s) => s.deploymentId === other.id).at(-1);
          if (last?.state === 'success') core.state.deploymentStatuses.push(make(other, 'inactive', ''));
        }
      }
      const json = deploymentStatusJson(core.site, status);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    operationId: 'repos/list-deployment-statuses',
    handle: async (core, { params, query, url }) => {
      const deployment = findDeployment(core, params.deployment_id!);
      const statuses = core.state.deploymentStatuses
        .filter((s) => s.deploymentId === deployment.id)
        .reverse();
      const { page, headers } = paginate(statuses, query, url);
      return { status: 200, body: page.map((s) => deploymentStatusJson(core.site, s)), headers };
    },
  },
];
