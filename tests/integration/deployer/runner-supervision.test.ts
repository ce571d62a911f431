// The runner container under Docker's supervision, on a real engine: a runner that dies is
// restarted by its restart policy, and the launcher waits through its restarts for the
// exit Docker is done with (Docker's wait returns at every exit); runners left behind by
// a dead launcher are removed once their deployment finished, never while they run.
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerLauncher } from '../../../src/deployer/runner-container.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';

const { docker, engine } = await testDocker();

// Each life counts itself in the container's own file system (kept across restarts);
// the first two die by SIGKILL, as an OOM kill would, and the third ends the run.
const DIES_TWICE =
  'n=$(cat /tmp/lives 2>/dev/null || echo 0); echo $((n+1)) > /tmp/lives; echo "life $n"; if [ "$n" -lt 2 ]; then kill -9 $$; fi; exit 0';

describe.skipIf(!engine)('the deploy runner container under supervision (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-runsup');
  const name = `${run}-staging-app`;
  let self: Docker.ContainerInspectInfo;

  beforeAll(async () => {
    const base = await ensureBaseImage(docker);
    // An image whose entrypoint plays a runner that dies twice, then finishes.
    const maker = await docker.createContainer({ Image: base, Labels: { 'lugh.test': run }, Cmd: ['true'] });
    await maker.commit({
      repo: run,
      tag: 'runner',
      changes: `ENTRYPOINT ["sh", "-c", ${JSON.stringify(DIES_TWICE)}, "runner"]`,
    });
    await maker.remove({ force: true });
    // The app container the launcher takes the runner's image and settings from.
    const app = await docker.createContainer({
      name,
      Image: `${run}:runner`,
      Entrypoint: ['sleep', '600'],
      Env: ['APP_ENV=staging'],
      Labels: { 'lugh.test': run },
    });
    await app.start();
    self = await app.inspect();
  }, 300_000);

  afterAll(async () => {
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await removeTestResources(docker, run);
  });

  it('a runner killed twice is restarted by Docker, and the launcher waits for the run to end', async () => {
    const launcher = createRunnerLauncher({ docker, logger, containerName: name });
    const seen: Array<{ status: string; restarts: number }> = [];
    const watching = setInterval(() => {
      void docker
        .getContainer(`${name}-deploy-7`)
        .inspect()
        .then(
          (i) => seen.push({ status: i.State.Status, restarts: i.RestartCount }),
          () => {},
        );
    }, 50);
    try {
      const result = await launcher.run(7, self);
      // The first exit (137) was not taken for the end: the third life exited 0.
      expect(result).toEqual({ exitCode: 0, logTail: [] });
    } finally {
      clearInterval(watching);
    }
    expect(Math.max(...seen.map((s) => s.restarts))).toBe(2);
    // Removed once Docker was done with it.
    expect(await docker.listContainers({ all: true, filters: { name: [`^/${name}-deploy-`] } })).toEqual([]);
  }, 120_000);

  it('leftover runners: an ended one of a finished deployment goes; a running one, or one of an unfinished deployment, stays', async () => {
    const launcher = createRunnerLauncher({ docker, logger, containerName: name });
    const make = async (id: number, entrypoint: string[]) => {
      const c = await docker.createContainer({
        name: `${name}-deploy-${id}`,
        Image: `${run}:runner`,
        Entrypoint: entrypoint,
        Labels: { 'lugh.test': run, 'lugh.role': 'runner', 'lugh.deployment': String(id) },
      });
      await c.start();
      return c;
    };
    await make(11, ['true']); // ended, its deployment finished
    await make(12, ['sleep', '600']); // still running, its deployment finished (as a test would have it)
    await make(13, ['true']); // ended, its deployment not finished: its job's launcher reads the exit
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const removed = await launcher.removeLeftovers(async (id) => id !== 13);
    expect(removed).toEqual([`${name}-deploy-11`]);
    const left = await docker.listContainers({ all: true, filters: { name: [`^/${name}-deploy-`] } });
    expect(left.map((c) => c.Names[0]).sort()).toEqual([`/${name}-deploy-12`, `/${name}-deploy-13`]);
  }, 60_000);
});
