import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import type { Pool } from '../../../src/store/pool.js';
import { ADMIN_ID } from '../../helpers/instance-env.js';
import { createNotificationWorld, type NotificationWorld } from '../../helpers/notification-world.js';

const TOKEN = '7007014:AATimelineTestsStagingToken_abcdefg';

describe('the deploy result', () => {
  let world: NotificationWorld;
  let pool: Pool;

  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN });
    world.start(ADMIN_ID);
    pool = world.pool();
  });
  afterAll(async () => world?.close());

  it('carries a compact timeline of its steps: a bar and a duration each', async () => {
    const deployments = createDeploymentStore(pool);
    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });
    for (const [name, status] of [
      ['resolve', 'succeeded'],
      ['build', 'succeeded'],
      ['backup', 'skipped'],
      ['migrate', 'succeeded'],
    ] as const) {
      await deployments.stepStarted(d.id, name);
      await deployments.stepFinished(d.id, name, status);
    }
    // The steps' times as a real deploy would leave them: build 80 s, migrate 4 s.
    await pool.query(
      `UPDATE deployment_steps SET started_at = $2::timestamptz + (s.o || ' s')::interval,
         finished_at = $2::timestamptz + (s.f || ' s')::interval
       FROM (VALUES ('resolve', 0, 0.4), ('build', 0.4, 80.4), ('backup', 80.4, 80.4), ('migrate', 80.4, 84.4))
         AS s(step, o, f)
       WHERE deployment_id = $1 AND deployment_steps.step = s.step`,
      [d.id, '2026-11-30T12:00:00Z'],
    );
    await deployments.finish(d.id, { status: 'succeeded', sha: 'c'.repeat(40) });
    const notifier = world.deployNotifier(deployments);
    await notifier.finished(d.id, 'staging', { status: 'succeeded', sha: 'c'.repeat(40), message: 'done' });
    await notifier.flush();
    const result = world.botTexts(ADMIN_ID).find((t) => t.includes(`Deploy #${d.id} done`));
    expect(result).toContain(
      [
        'resolve ▏          0.4 s',
        'build   ██████████ 1 min 20 s',
        'backup  ·          skipped',
        'migrate ▌          4.0 s',
      ].join('\n'),
    );
  });
});
