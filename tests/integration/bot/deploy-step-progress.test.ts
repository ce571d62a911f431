// A running step's progress (a Swarm update's `updating 1/2 tasks`) is recorded as its detail
// in a real Postgres and edited into the deploy's one message through the Telegram stand-in,
// under the same throttle as the steps; the step's own result replaces it when it finishes.
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployNotifier } from '../../../src/bot/deploys/deploy-notifier.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { ADMIN_ID } from '../../helpers/instance-env.js';
import { createNotificationWorld, type NotificationWorld, quiet } from '../../helpers/notification-world.js';

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
    const n = createDeployNotifier({
      api: () => new Api(TOKEN, { apiRoot: world.tg.apiRoot }),
      deployments,
      logger: quiet,
      redact: (t) => t,
      fallbackChatId: ADMIN_ID,
      minEditIntervalMs: 0,
    });
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
});
