// The race of moby/swarmkit#2242 on the paths that put a version back outside a deploy's own
// rollback: a resumed deploy's converge (after a crash) and the undo of a deploy stopped
// before its switch (removePreflight). Swarm's rollback, or lugh's put-back, replaces tasks
// that are failing while its restart supervisor starts tasks of the spec put back, and a slot
// may keep two running tasks. After each, the service must run one task per slot, of the
// version put back.
import { describe, expect, it } from 'vitest';
import { testDocker } from '../../helpers/docker.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import { CRASHING, failingService, goodOf, soakRounds } from '../../helpers/swarm-failing-service.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

describe.skipIf(!engine || !swarm)('versions put back over failing tasks (needs a swarm manager)', () => {
  const service = failingService(docker, 'lugh-test-pbsurplus');
  const { name, runtime, deploy, startUpdate, failedAtLeast, updateState } = service;
  const { crashRunningTasks, expectOnePerSlot } = service;

  /** A converge's text says a surplus in stopSurplus's words, if it says one at all. */
  const expectSurplusSaid = (done: string | undefined) => {
    if (done && /surplus tasks? running/.test(done))
      expect(done).toMatch(
        /Swarm left \d+ surplus tasks? running \(moby\/swarmkit#2242\); asked it to stop them/,
      );
  };

  /** removePreflight returned only once Swarm's update or rollback had ended (it waits them out). */
  const expectSettledNow = async () => {
    const state = (await docker.getService(name).inspect()).UpdateStatus?.State;
    expect(['updating', 'rollback_started']).not.toContain(state);
  };

  /** A deploy's update of `sha` that passed its health step and was completed by Swarm, then falls over. */
  async function completedThenFallsOver(sha: string) {
    const rt = runtime();
    const preflight = await startUpdate(sha);
    await rt.awaitPreflight(preflight, 90_000);
    await updateState('completed');
    await crashRunningTasks();
    return preflight;
  }

  // One round here; `npm run soak` runs 2 of each (one round passing proves little about a race).
  it.each(soakRounds(2))(
    "round %i: a resumed deploy's converge after Swarm rolled back its crash-looping update leaves one task per slot of the version before",
    async (round) => {
      const good = goodOf(round, 5);
      await deploy(good, 2_000);
      const since = Date.now() - 1_000;
      // As a killed deploy leaves it: its update issued, its tasks failing, Swarm rolling back.
      const preflight = await startUpdate(CRASHING);
      await failedAtLeast(CRASHING, since, 1);
      const done = await runtime().converge(name, { replacedId: preflight.currentId, replacedSha: good });
      await expectOnePerSlot(good);
      expectSurplusSaid(done);
    },
    300_000,
  );

  it.each(soakRounds(2))(
    "round %i: a resumed deploy's converge puts back an unverified update whose tasks fall over, one task per slot of the version before",
    async (round) => {
      const good = goodOf(round, 6);
      await deploy(good, 2_000);
      const preflight = await completedThenFallsOver(goodOf(round, 7));
      const done = await runtime().converge(name, { replacedId: preflight.currentId, replacedSha: good });
      expect(done).toContain(`put ${name} back to ${preflight.currentId}`);
      await expectOnePerSlot(good);
      expectSurplusSaid(done);
    },
    300_000,
  );

  it.each(soakRounds(2))(
    'round %i: the undo of a deploy stopped after Swarm rolled back its crash-looping update leaves one task per slot of the version before',
    async (round) => {
      const good = goodOf(round, 8);
      await deploy(good, 2_000);
      const since = Date.now() - 1_000;
      const preflight = await startUpdate(CRASHING);
      await failedAtLeast(CRASHING, since, 1);
      await runtime().removePreflight(preflight);
      await expectSettledNow();
      await expectOnePerSlot(good);
    },
    300_000,
  );

  it.each(soakRounds(2))(
    'round %i: the undo of a deploy stopped before its switch puts back an update whose tasks fall over, one task per slot of the version before',
    async (round) => {
      const good = goodOf(round, 9);
      await deploy(good, 2_000);
      const preflight = await completedThenFallsOver(goodOf(round, 10));
      await runtime().removePreflight(preflight);
      await expectSettledNow();
      await expectOnePerSlot(good);
    },
    300_000,
  );
});
