import { NotFoundError } from '../../forge/errors.js';
import type { Step } from './step.js';
import { succeeded } from './step.js';

const SHA = /^[0-9a-f]{40}$/;

/** Which commit to deploy (the step runner has put a crashed deploy's environment back first). */
export const resolveStep: Step = {
  name: 'resolve',
  async run(ctx) {
    const { deployment, containerName } = ctx;
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
  // The commit resolved before a crash is the one to deploy, even if the branch moved since.
  restore(ctx, detail) {
    if (!detail || !SHA.test(detail)) return false;
    ctx.sha = detail;
    return true;
  },
};
