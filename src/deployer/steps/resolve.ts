import { NotFoundError } from '../../forge/errors.js';
import type { Step } from './step.js';
import { succeeded } from './step.js';

const SHA = /^[0-9a-f]{40}$/;

/** Which commit to deploy, once the environment is back to one running app container. */
export const resolveStep: Step = {
  name: 'resolve',
  async run(ctx) {
    const { deployment, containerName } = ctx;
    if (ctx.reattached) {
      // A worker or runner died in this deployment: back to one running container first.
      const converged = await ctx.runtime.converge(containerName);
      if (converged)
        ctx.log.warn({ deploymentId: deployment.id, converged }, 'converged after an interrupted deploy');
    }
    await ctx.runtime.requireContainer(containerName);
    await ctx.reportToGitHub('in_progress', `lugh deploys ${deployment.ref}`);
    ctx.sha =
      deployment.sha && SHA.test(deployment.sha)
        ? deployment.sha
        : await ctx.source.branchSha(deployment.ref).catch((error: unknown) => {
            if (error instanceof NotFoundError)
              throw new Error(`"${deployment.ref}" is not a branch of the repository`);
            throw error;
          });
    return succeeded(ctx.sha);
  },
};
