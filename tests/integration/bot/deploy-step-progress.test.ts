// A running step's progress (a Swarm update's `updating 1/2 tasks`) is recorded as its detail
// in a real Postgres and edited into the deploy's one message through the Telegram stand-in,
// under the same throttle as the steps; the step's own result replaces it when it finishes.
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { ADMIN_ID } from '../../helpers/instance-env.js';
import { createNotificationWorld, type NotificationWorld } from '../../helpers/notification-world.js';

const TOKEN = '7007017:AAStepProgressTestsStagingToken_abcd';

describe('the progress of a running step', () => {
  let world: NotificationWorld;
  let deployments: DeploymentStore;
  const progressOf = (id: number) => world.botTexts(ADMIN_ID).find((t) => t.includes(`Deploy #${id} `));

  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN });
    world.start(ADMIN_ID);
    deployments = createDeploymentStore(world.pool());
  });
  afterAll(async () => world?.close());

  it('shows the running step’s progress in the message, edited as it moves on, then the step’s result', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    const n = world.deployNotifier(deployments);
    await deployments.stepStarted(d.id, 'health');
    await n.step(d.id, 'staging', 'health');
    await deployments.stepProgress(d.id, 'health', 'updating 1/2 tasks');
    await n.progress!(d.id, 'staging');
    await n.flush();
    expect(progressOf(d.id)).toContain('⏳ health updating 1/2 tasks');
    await deployments.stepProgress(d.id, 'health', 'updating 2/2 tasks');
    await n.progress!(d.id, 'staging');
    await n.flush();
    expect(progressOf(d.id)).toContain('⏳ health updating 2/2 tasks');
    // A finished step keeps its own detail: a late progress line changes nothing.
    await deployments.stepFinished(d.id, 'health', 'succeeded');
    await deployments.stepProgress(d.id, 'health', 'updating 1/2 tasks');
    expect((await deployments.steps(d.id)).find((s) => s.step === 'health')).toEqual({
      step: 'health',
      status: 'succeeded',
      detail: null,
    });
  });

  it('keeps its edits a minimum interval apart, also when they queued up behind a slow one', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const api = new Api(TOKEN, { apiRoot: world.tg.apiRoot });
    const n = world.deployNotifier(deployments, { api, minEditIntervalMs: 400 });
    // Telegram answers the first message slowly, and the next step starts while the first
    // edit is being made (as steps do, with the notifier told).
    let stepDuringEdit = true;
    api.config.use(async (prev, method, payload, signal) => {
      if (method === 'sendMessage') {
        const answer = await prev(method, payload, signal);
        await sleep(600);
        return answer;
      }
      if (method === 'editMessageText' && stepDuringEdit) {
        stepDuringEdit = false;
        await deployments.stepStarted(d.id, 'migrate');
        void n.step(d.id, 'staging', 'migrate');
      }
      return prev(method, payload, signal);
    });
    await deployments.stepStarted(d.id, 'resolve');
    void n.step(d.id, 'staging', 'resolve');
    await sleep(450);
    // Two steps while the first message is still on its way: both edits wait behind it.
    for (const step of ['build', 'backup'] as const) {
      await deployments.stepStarted(d.id, step);
      void n.step(d.id, 'staging', step);
      await sleep(10);
    }
    await sleep(100);
    await n.flush();
    const [entry] = world.tg
      .transcript(TOKEN, ADMIN_ID)
      .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes(`Deploy #${d.id} `));
    if (entry?.kind !== 'bot_message') throw new Error('no progress message');
    const times = [entry.at, ...entry.edits.map((e) => e.at)];
    // The message, the edit after the slow send, the edit for migrate (before the fix it
    // followed the one before within milliseconds).
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(390);
    expect(entry.text).toContain('⏳ migrate');
  });
});
