import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import type { Pool } from '../../../src/store/pool.js';
import { ADMIN_ID } from '../../helpers/instance-env.js';
import { createNotificationWorld, type NotificationWorld } from '../../helpers/notification-world.js';

const TOKEN = '7007016:AAServiceLinesTestsStagingToken_abcd';
const SET = [
  { service: 'worker', replica: 1, name: 'lugh-staging-app-worker-1' },
  { service: 'app', replica: 1, name: 'lugh-staging-app' },
  { service: 'app', replica: 2, name: 'lugh-staging-app-2' },
  { service: 'web', replica: 1, name: 'lugh-staging-app-web-1' },
];

describe('the progress of a set deploy', () => {
  let world: NotificationWorld;
  let pool: Pool;
  let deployments: DeploymentStore;
  const notifier = () => world.deployNotifier(deployments);
  const progressOf = (id: number) => world.botTexts(ADMIN_ID).find((t) => t.includes(`Deploy #${id} `));

  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN });
    world.start(ADMIN_ID);
    pool = world.pool();
    deployments = createDeploymentStore(pool);
  });
  afterAll(async () => world?.close());

  it('shows a line per service with its state and replica count, edited as the containers move on', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    await deployments.setServices(d.id, { services: [] }, SET);
    await deployments.stepStarted(d.id, 'switch');
    const n = notifier();
    await n.step(d.id, 'staging', 'switch');
    await n.flush();
    expect(progressOf(d.id)).toContain(
      ['worker ⏳ waiting', 'app ⏳ 0/2 waiting', 'web ⏳ waiting'].join('\n'),
    );

    await deployments.serviceState(d.id, SET[0]!, 'switched');
    await deployments.serviceState(d.id, SET[1]!, 'switched');
    await deployments.serviceState(d.id, SET[2]!, 'switching');
    await n.services!(d.id, 'staging');
    await n.flush();
    expect(progressOf(d.id)).toContain(
      ['worker ✅ switched', 'app 🔄 1/2 switching', 'web ⏳ waiting'].join('\n'),
    );
  });

  it('coalesces the edits of containers moving on faster than the edit interval into one', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    await deployments.setServices(d.id, { services: [] }, SET);
    const n = world.deployNotifier(deployments, { minEditIntervalMs: 60_000 });
    await n.step(d.id, 'staging', 'start');
    await n.flush();
    for (const c of SET) {
      await deployments.serviceState(d.id, c, 'switched');
      await n.services!(d.id, 'staging');
    }
    // One edit is due (a minute away): the message is not edited once per container.
    const entry = world.tg
      .transcript(TOKEN, ADMIN_ID)
      .find((e) => e.kind === 'bot_message' && e.text?.includes(`Deploy #${d.id} `));
    expect(entry && 'edits' in entry ? entry.edits.length : -1).toBe(0);
  });

  it('renders a one-service deploy as before: no service lines', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    // A deployment whose set is one container (a repository without lugh.yml).
    await deployments.setServices(d.id, null, [{ service: 'app', replica: 1, name: 'lugh-staging-app' }]);
    await deployments.stepStarted(d.id, 'build');
    const n = notifier();
    await n.step(d.id, 'staging', 'build');
    await n.flush();
    const text = progressOf(d.id)!;
    expect(text.split('\n').at(-1)).toBe('▫️ record');
    expect(text).not.toContain('app ');
  });

  it('names the failed service, its replica and why in the final message of a failed set deploy', async () => {
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    await deployments.setServices(d.id, { services: [] }, SET);
    await deployments.serviceState(d.id, SET[0]!, 'rolled_back', 'the previous worker runs again');
    await deployments.serviceState(d.id, SET[1]!, 'switched');
    await deployments.serviceState(d.id, SET[2]!, 'failed', 'unhealthy after 30 s: /healthz answered 503');
    await deployments.finish(d.id, { status: 'rolled_back', error: 'app failed its health check' });
    const n = notifier();
    await n.finished(d.id, 'staging', {
      status: 'rolled_back',
      step: 'switch',
      message: 'app failed its health check',
    });
    await n.flush();
    const result = world.botTexts(ADMIN_ID).find((t) => t.includes(`Deploy #${d.id} was rolled back`));
    expect(result).toContain(
      'Service app (replica 2 of 2, lugh-staging-app-2) failed: unhealthy after 30 s: /healthz answered 503. Put back: worker.',
    );
    expect(progressOf(d.id)).toContain('app ❌ 1/2 failed (replica 2): unhealthy after 30 s');
  });
});
