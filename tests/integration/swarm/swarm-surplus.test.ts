// A deploy over a version that crash-loops: Swarm's restart supervisor and its updater both
// start a task of the new version in the same slot (moby/swarmkit#2242), and the service
// runs more tasks than its replicas until lugh has Swarm reconcile it.
import { describe, it } from 'vitest';
import { BASE_IMAGE, testDocker } from '../../helpers/docker.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import { failingService, goodOf, soakRounds } from '../../helpers/swarm-failing-service.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

describe.skipIf(!engine || !swarm)('a deploy over a crash-looping version (needs a swarm manager)', () => {
  const { name, said, progress, runtime, crashLoop, expectOnePerSlot } = failingService(
    docker,
    'lugh-test-surplus',
  );

  // One round here; `npm run soak` runs 3 of each (one round passing proves little about a race).
  it.each(soakRounds(3))(
    'round %i: after the fix is deployed and verified, exactly one task per slot is desired running',
    async (round) => {
      await crashLoop();
      said.length = 0;
      const rt = runtime();
      const fix = goodOf(round, 1);
      const preflight = await rt.startPreflight({ containerName: name, image: BASE_IMAGE, sha: fix });
      await rt.awaitPreflight(preflight, 90_000, progress);
      const switched = await rt.switchOver(preflight, 90_000, async () => {}, progress);
      await rt.verify(switched, 3_000, progress);
      // One task per slot, both of the fix; when Swarm left a surplus, verify said so, naming the issue.
      await expectOnePerSlot(fix);
    },
    240_000,
  );
});
