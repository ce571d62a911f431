import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { extraNetworks, planRunner, snapshotOf } from './container-plan.js';
import { findContainer, logTail } from './docker-helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The exit code of a runner once Docker is done with it. A runner that dies is restarted
 * by its restart policy (see planRunner), and a wait returns at each of its exits: only
 * an exit that Docker does not restart from (neither running nor restarting) is final.
 */
async function finalExit(container: Docker.Container): Promise<number> {
  for (let failures = 0; ; ) {
    const info = await container.inspect().catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return undefined; // removed meanwhile: its row says how it ended
      throw error;
    });
    if (!info) return -1;
    const state = info.State;
    if (!state.Running && !state.Restarting) return state.ExitCode;
    try {
      // Returns at the runner's next exit (Docker counts a restarting container as running).
      await container.wait({ condition: 'not-running' });
      await sleep(200); // no busy loop, whatever an engine answers for a restarting one
    } catch (error) {
      // The engine restarting drops the wait; ask again once it answers.
      if (++failures > 30) throw error;
      await sleep(2_000);
    }
  }
}

/**
 * The runner container launcher. A deploy runs in a runner container when lugh would
 * replace the very container it runs in (the staging bot deploying staging): a
 * short-lived container of the current image, with the same environment, volumes and
 * networks (planned by `planRunner`), running `lugh deploy-run <id>`. It is neither the old
 * nor the new app container, so it lives through the switch; the worker that launched it
 * may not (it is stopped by the switch) and its successor re-attaches by name. A runner
 * that dies (OOM, `kill -9`) is restarted by Docker and resumes the
 * deployment; the launcher waits through those restarts and never removes a runner that
 * is running or about to run again.
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
      const exitCode = await finalExit(container);
      const tail = exitCode === 0 ? [] : await logTail(container);
      await container.remove({ force: true }).catch(() => {});
      return { exitCode, logTail: tail };
    },

    /**
     * Removes the runner containers left behind by a launcher that died after its runner
     * ended (their deployment finished); never one that runs or will run again. Returns
     * the names removed.
     */
    async removeLeftovers(isFinished: (deploymentId: number) => Promise<boolean>): Promise<string[]> {
      const removed: string[] = [];
      const runners = await docker.listContainers({
        all: true,
        filters: { name: [`^/${options.containerName}-deploy-`], label: ['lugh.role=runner'] },
      });
      for (const c of runners) {
        const id = Number(c.Labels['lugh.deployment']);
        if (c.State === 'running' || c.State === 'restarting' || !Number.isInteger(id)) continue;
        if (!(await isFinished(id))) continue; // its job's launcher reads its exit code
        await docker
          .getContainer(c.Id)
          .remove({ force: false })
          .then(() => removed.push(c.Names[0]?.replace(/^\//, '') ?? c.Id))
          .catch(() => {});
      }
      if (removed.length) log.info({ removed }, 'removed runner containers of finished deployments');
      return removed;
    },
  };
}

export type RunnerLauncher = ReturnType<typeof createRunnerLauncher>;
