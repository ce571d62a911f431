import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { extraNetworks, planRunner, snapshotOf } from './container-plan.js';
import { findContainer, logTail } from './docker-helpers.js';

/**
 * The runner container launcher. A deploy runs in a runner container when lugh would
 * replace the very container it runs in (the staging bot deploying staging): a
 * short-lived container of the current image, with the same environment, volumes and
 * networks (planned by `planRunner`), running `lugh deploy-run <id>`. It is neither the old
 * nor the new app container, so it lives through the switch; the worker that launched it
 * may not (it is stopped by the switch) and its successor re-attaches by name.
 */
export function createRunnerLauncher(options: { docker: Docker; logger: Logger; containerName: string }) {
  const { docker } = options;
  const log = options.logger.child({ component: 'deploy-runner-container' });
  const runnerName = (deploymentId: number) => `${options.containerName}-deploy-${deploymentId}`;

  return {
    /**
     * Runs (or re-attaches to) the runner container of a deployment and waits for it to
     * exit; the container is removed afterwards. `self` is the app container this process
     * runs in, whose image and settings the runner takes.
     */
    async run(
      deploymentId: number,
      self: Docker.ContainerInspectInfo,
    ): Promise<{ exitCode: number; logTail: string[] }> {
      const name = runnerName(deploymentId);
      let info = await findContainer(docker, name);
      if (!info) {
        const imageConfig = (await docker.getImage(self.Image).inspect()).Config;
        const snapshot = snapshotOf(self, imageConfig);
        const container = await docker.createContainer(
          planRunner(snapshot, { name, image: self.Image, deploymentId }),
        );
        // Without aliases: the runner serves nothing, so no name may lead traffic to it.
        for (const [network] of extraNetworks(snapshot))
          await docker.getNetwork(network).connect({ Container: container.id });
        await container.start();
        log.info({ deploymentId, name }, 'started the deploy runner container');
        info = await container.inspect();
      } else {
        log.info(
          { deploymentId, name, running: info.State.Running },
          're-attached to the deploy runner container',
        );
      }
      const container = docker.getContainer(info.Id);
      const exit = info.State.Running
        ? ((await container.wait()) as { StatusCode: number })
        : { StatusCode: info.State.ExitCode };
      const tail = exit.StatusCode === 0 ? [] : await logTail(container);
      await container.remove({ force: true }).catch(() => {});
      return { exitCode: exit.StatusCode, logTail: tail };
    },
  };
}

export type RunnerLauncher = ReturnType<typeof createRunnerLauncher>;
