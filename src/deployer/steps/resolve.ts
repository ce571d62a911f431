import { NotFoundError } from '../../forge/errors.js';
import { DockerfileOutsideContextError, dockerfileInContext, isDefaultBuild } from '../image-plan.js';
import { parseServiceFile, ServiceFileError } from '../service-file.js';
import { containersOf, ONE_SERVICE, SERVICE_FILE, type ServiceSet } from '../service-set.js';
import type { Step, StepContext } from './step.js';
import { succeeded } from './step.js';

const SHA = /^[0-9a-f]{40}$/;
/** The step's detail: the commit, then the services of a declared set. */
const SEPARATOR = ' · ';

/**
 * What of a declared set this host cannot deploy, each naming its field and what to do: a
 * Dockerfile outside its context, replicas taking traffic with no proxy to spread it.
 */
function refusals(set: ServiceSet, proxied: boolean): string[] {
  const problems: string[] = [];
  for (const s of set.services) {
    if (!isDefaultBuild(s.build)) {
      try {
        dockerfileInContext(s.build);
      } catch (error) {
        if (!(error instanceof DockerfileOutsideContextError)) throw error;
        problems.push(`services.${s.name}.build: ${error.message}`);
      }
    }
    if (s.traffic && s.replicas > 1 && !proxied)
      problems.push(
        `services.${s.name}: takes traffic with ${s.replicas} replicas, which needs a proxy in front to share it and to roll them one at a time: set DEPLOY_PROXY_ADMIN_URL (HAProxy's runtime API), or set replicas: 1`,
      );
  }
  return problems;
}

/** The services the commit declares in lugh.yml; none: one service, exactly as before. */
async function serviceSetAt(ctx: StepContext, sha: string): Promise<ServiceSet> {
  const text = await ctx.source.serviceFile(sha);
  if (text === undefined) return ONE_SERVICE;
  const set = parseServiceFile(text);
  if (set.declared && !ctx.runtime.switchSet)
    throw new ServiceFileError(
      `${SERVICE_FILE} sets are not supported with DEPLOY_RUNTIME=${ctx.runtime.name ?? 'this runtime'} yet: deploy one service (a commit without ${SERVICE_FILE}), or deploy the set with DEPLOY_RUNTIME=docker`,
    );
  const problems = refusals(set, ctx.settings.proxied ?? false);
  if (problems.length)
    throw new ServiceFileError(`${SERVICE_FILE} cannot be deployed here: ${problems.join('; ')}`);
  return set;
}

/**
 * A set restricted to the one service a rollback takes back alone (`/rollback <service>
 * alone`), as the earlier commit declares it; `only` names it, so the recorded set says it
 * is partial (the step runner, /status and later deploys read it so).
 */
export interface AloneSet extends ServiceSet {
  readonly only: string;
}

/** Why a rollback of `only` alone cannot be deployed at `sha`; else the set cut to that service. */
export function aloneSet(set: ServiceSet, only: string, sha: string): AloneSet {
  const at = sha.slice(0, 7);
  if (!set.declared)
    throw new ServiceFileError(
      `${at} declares no set of services (no ${SERVICE_FILE}): ${only} cannot be rolled back alone`,
    );
  const service = set.services.find((s) => s.name === only);
  if (!service)
    throw new ServiceFileError(
      `${at} has no service ${only} (its ${SERVICE_FILE} declares ${servicesText(set)}): it cannot be rolled back alone to it`,
    );
  return { declared: true, services: [service], only };
}

/** The service a deployment rolls back alone, if it is such a rollback. */
export const onlyServiceOf = (ctx: StepContext): string | undefined =>
  ctx.deployment.onlyService ?? undefined;

/** "worker, app ×2, web": the services in their order, with their replicas. */
export function servicesText(set: ServiceSet): string {
  return set.services.map((s) => (s.replicas > 1 ? `${s.name} ×${s.replicas}` : s.name)).join(', ');
}

/** A set recorded on the deployment (`setServices`), as resolve found it. */
function isServiceSet(value: unknown): value is ServiceSet {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as ServiceSet).declared === true &&
    Array.isArray((value as ServiceSet).services)
  );
}

/**
 * Which commit to deploy (the step runner has put a crashed deploy's environment back
 * first), and the services it declares (lugh.yml): a file that is not valid fails the
 * deploy here, before anything is touched; a declared set is recorded on the deployment
 * with each of its containers.
 */
export const resolveStep: Step = {
  name: 'resolve',
  async run(ctx) {
    const { deployment, containerName } = ctx;
    await ctx.runtime.requireContainer(containerName);
    await ctx.reportToGitHub('in_progress', `lugh deploys ${deployment.ref}`);
    const sha =
      deployment.sha && SHA.test(deployment.sha)
        ? deployment.sha
        : await ctx.source.branchSha(deployment.ref).catch((error: unknown) => {
            if (error instanceof NotFoundError)
              throw new Error(`"${deployment.ref}" is not a branch of the repository`);
            throw error;
          });
    ctx.sha = sha;
    const only = onlyServiceOf(ctx);
    const declared = await serviceSetAt(ctx, sha);
    const set = only ? aloneSet(declared, only, sha) : declared;
    ctx.serviceSet = set;
    if (!set.declared) return succeeded(sha);
    await ctx.deployments.setServices(deployment.id, set, containersOf(set, containerName));
    const alone = only ? ' alone: the other services stay as they run' : '';
    return succeeded(`${sha}${SEPARATOR}services ${servicesText(set)}${alone}`);
  },
  // The commit resolved before a crash is the one to deploy, even if the branch moved since,
  // with the services recorded then.
  restore(ctx, detail) {
    const sha = detail?.split(SEPARATOR, 1)[0];
    if (!sha || !SHA.test(sha)) return false;
    const recorded = ctx.deployment.services;
    const declared = detail !== sha;
    if (declared && !isServiceSet(recorded)) return false;
    ctx.sha = sha;
    ctx.serviceSet = declared && isServiceSet(recorded) ? recorded : ONE_SERVICE;
    return true;
  },
};
