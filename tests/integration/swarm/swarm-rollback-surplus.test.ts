// The race of moby/swarmkit#2242 on the rollback paths: while a rollback replaces tasks that
// are failing, Swarm's restart supervisor starts a task of the (rolled back) spec in a slot
// where its updater starts one too, and the slot keeps two running tasks. After each kind of
// rollback the service must run one task per slot, of the version rolled back to.
import { describe, expect, it } from 'vitest';
import { RolledBackError } from '../../../src/deployer/errors.js';
import { testDocker } from '../../helpers/docker.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import { FALLING, failingService, goodOf, soakRounds } from '../../helpers/swarm-failing-service.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

describe.skipIf(!engine || !swarm)('rollbacks over failing tasks (needs a swarm manager)', () => {
  const { said, deploy, crashLoop, crashRunningTasks, expectOnePerSlot } = failingService(
    docker,
    'lugh-test-rbsurplus',
  );

  // One round here; `npm run soak` runs 3 of each (one round passing proves little about a race).
  it.each(soakRounds(3))(
    "round %i: after Swarm's own rollback of a version that falls over during its update, one task per slot runs the version before",
    async (round) => {
      const good = goodOf(round, 1);
      await deploy(good, 2_000);
      said.length = 0;
      await expect(deploy(FALLING, 2_000)).rejects.toThrow(RolledBackError);
      await expectOnePerSlot(good);
    },
    300_000,
  );

  it.each(soakRounds(3))(
    "round %i: after lugh's rollback of a version that crashed in verify, one task per slot runs the version before",
    async (round) => {
      const good = goodOf(round, 2);
      await deploy(good, 2_000);
      said.length = 0;
      await expect(deploy(goodOf(round, 3), 6_000, crashRunningTasks)).rejects.toThrow(RolledBackError);
      await expectOnePerSlot(good);
    },
    300_000,
  );

  it.each(soakRounds(3))(
    'round %i: after /rollback over a version that crash-loops, one task per slot runs the release rolled back to',
    async (round) => {
      const release = goodOf(round, 4);
      await deploy(release, 2_000);
      await crashLoop();
      said.length = 0;
      // A rollback's verify window (steps/verify.ts: ROLLBACK_VERIFY_MS).
      await deploy(release, 1_000);
      await expectOnePerSlot(release);
    },
    300_000,
  );
});
