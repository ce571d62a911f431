// What an ended deployment's row tells the metrics: outcome, trigger, durations, steps that
// ran, and approval → healthy for a promoted production deploy that succeeded.
import { describe, expect, it } from 'vitest';
import { countDeployEnded } from '../../../src/deployer/deploy-metrics.js';
import type { DeployFinished } from '../../../src/metrics/metrics.js';
import type { Deployment } from '../../../src/store/deployments.js';
import { silentLogger as logger } from '../../helpers/logger.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));

function world(row: Partial<Deployment>, claimed = new Set<number>()) {
  const seen: DeployFinished[] = [];
  const parts = {
    deployments: {
      get: async () => ({ id: 7, trigger: 'promotion', status: 'succeeded', ...row }) as Deployment,
      stepTimes: async () => [
        { step: 'resolve', status: 'succeeded', startedAt: at(10), finishedAt: at(11) },
        { step: 'backup', status: 'skipped', startedAt: at(11), finishedAt: at(11) },
        { step: 'build', status: 'succeeded', startedAt: at(11), finishedAt: at(41) },
        { step: 'health', status: 'running', startedAt: at(41), finishedAt: null },
      ],
    },
    metrics: { deployFinished: (d: DeployFinished) => void seen.push(d) },
    claim: async (id: number) => !claimed.has(id) && Boolean(claimed.add(id)),
    logger,
  };
  return { parts, seen };
}

describe('countDeployEnded', () => {
  it('counts a promoted deploy that ended healthy, with its approval → healthy time', async () => {
    const { parts, seen } = world({
      startedAt: at(10),
      finishedAt: at(70),
      context: { approvedAt: at(0).toISOString() },
    });
    await countDeployEnded(parts, 7);
    expect(seen).toEqual([
      {
        trigger: 'promotion',
        outcome: 'succeeded',
        seconds: 60,
        steps: [
          { step: 'resolve', seconds: 1 },
          { step: 'build', seconds: 30 },
        ],
        approvalToHealthySeconds: 70,
      },
    ]);
  });

  it('a rolled-back deploy has no approval → healthy time; a row still running counts nothing', async () => {
    const rolledBack = world({
      status: 'rolled_back',
      startedAt: at(10),
      finishedAt: at(70),
      context: { approvedAt: at(0).toISOString() },
    });
    await countDeployEnded(rolledBack.parts, 7);
    expect(rolledBack.seen).toMatchObject([{ outcome: 'rolled_back', approvalToHealthySeconds: undefined }]);
    const running = world({ status: 'running', startedAt: at(10), finishedAt: null });
    await countDeployEnded(running.parts, 7);
    expect(running.seen).toEqual([]);
  });

  it('counts once: a second job seeing the same ended row finds it claimed', async () => {
    const claimed = new Set<number>();
    const first = world({ startedAt: at(10), finishedAt: at(70) }, claimed);
    const second = world({ startedAt: at(10), finishedAt: at(70) }, claimed);
    await countDeployEnded(first.parts, 7);
    await countDeployEnded(second.parts, 7);
    expect(first.seen).toHaveLength(1);
    expect(second.seen).toEqual([]);
  });
});
