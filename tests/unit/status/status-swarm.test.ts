// /status on Swarm over fake sources: each environment's service asked with its own deadline,
// no container inspected; and the task list shaped from the engine's answers.
import { describe, expect, it } from 'vitest';
import type { PublishedStatus } from '../../../src/status/status-report.js';
import { createStatusService } from '../../../src/status/status-service.js';
import {
  type RawTask,
  type SwarmServiceStatus,
  swarmServiceStatus,
} from '../../../src/status/swarm-status.js';

const never = () => new Promise<never>(() => {});
const report = (env: 'staging' | 'production', container: string): PublishedStatus => ({
  env,
  startedAt: new Date().toISOString(),
  container,
  health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
  at: new Date().toISOString(),
});

describe('/status with DEPLOY_RUNTIME=swarm', () => {
  it('asks each environment’s service by the name it publishes, never a container, each with its deadline', async () => {
    const asked: string[] = [];
    const containers: string[] = [];
    const status = createStatusService({
      env: 'staging',
      own: async () => report('staging', 'lugh-staging_app'),
      ownContainer: 'lugh-staging_app',
      other: async () => report('production', 'lugh-prod_app'),
      container: async (name) => {
        containers.push(name);
        return { name, state: 'running' };
      },
      setContainers: async () => {
        containers.push('set');
        return [];
      },
      swarmService: async (name) => {
        asked.push(name);
        if (name === 'lugh-prod_app') return never();
        return { name, desired: 1, global: false, running: 1, tasks: [] } satisfies SwarmServiceStatus;
      },
      timeoutMs: 300,
    });
    const r = await status.report();
    expect(asked.sort()).toEqual(['lugh-prod_app', 'lugh-staging_app']);
    expect(containers).toEqual([]);
    const [staging, production] = r.environments;
    expect(staging!.swarm).toMatchObject({ ok: true, value: { name: 'lugh-staging_app', running: 1 } });
    expect(production!.swarm).toEqual({ ok: false, why: 'no answer within 300 ms' });
    expect(staging!.services).toBeUndefined();
    // The brief form asks Swarm nothing.
    asked.length = 0;
    const brief = await status.report({ brief: true });
    expect(asked).toEqual([]);
    expect(brief.environments[0]!.swarm).toBeUndefined();
  });
});

describe('swarmServiceStatus', () => {
  const task = (t: Partial<RawTask> & { ID: string }): RawTask => ({
    DesiredState: 'running',
    NodeID: 'n1',
    Status: { State: 'running', ContainerStatus: { ContainerID: `c-${t.ID}` } },
    ...t,
  });
  const digest = `sha256:${'1'.repeat(64)}`;

  it('keeps the tasks Swarm wants running, in slot order, with node names, health, version and errors', () => {
    const s = swarmServiceStatus({
      service: {
        ID: 'svc',
        Spec: {
          Name: 'lugh-prod_app',
          Labels: { 'lugh.sha': 'b'.repeat(40) },
          Mode: { Replicated: { Replicas: 2 } },
          TaskTemplate: { ContainerSpec: { Image: `reg/lugh@${digest}` } },
        },
        UpdateStatus: { State: 'updating', Message: 'update in progress' },
      },
      tasks: [
        task({ ID: 't2', Slot: 2, NodeID: 'n2', Spec: { ContainerSpec: { Env: ['GIT_SHA=abc'] } } }),
        // An update's old task, shut down: not shown.
        task({ ID: 'old', Slot: 1, DesiredState: 'shutdown', Status: { State: 'shutdown' } }),
        task({
          ID: 't1',
          Slot: 1,
          Status: { State: 'starting', Err: 'waiting' },
          Spec: { ContainerSpec: { Image: `reg/lugh@${digest}`, Labels: { 'lugh.sha': 'def' } } },
        }),
      ],
      nodes: new Map([['n1', 'node-one']]),
      health: new Map([['c-t2', 'unhealthy']]),
    });
    expect(s).toEqual({
      name: 'lugh-prod_app',
      desired: 2,
      global: false,
      running: 0,
      tasks: [
        { slot: 1, node: 'node-one', state: 'starting', sha: 'def', digest, error: 'waiting' },
        { slot: 2, node: 'n2', state: 'running', health: 'unhealthy', sha: 'abc' },
      ],
      update: { state: 'updating', message: 'update in progress' },
      sha: 'b'.repeat(40),
      digest,
    });
  });

  it('start-first: two running tasks in one slot count once while Swarm updates', () => {
    const s = swarmServiceStatus({
      service: {
        ID: 's',
        Spec: { Name: 's', Mode: { Replicated: { Replicas: 2 } } },
        UpdateStatus: { State: 'updating' },
      },
      tasks: [task({ ID: 'old1', Slot: 1 }), task({ ID: 'new1', Slot: 1 }), task({ ID: 'old2', Slot: 2 })],
      nodes: new Map(),
      health: new Map(),
    });
    expect(s).toMatchObject({ desired: 2, running: 2 });
    expect(s.tasks).toHaveLength(3);
  });

  it('the surplus Swarm may leave once an update completed (moby/swarmkit#2242) counts: 4/2', () => {
    const s = swarmServiceStatus({
      service: {
        ID: 's',
        Spec: { Name: 's', Mode: { Replicated: { Replicas: 2 } } },
        UpdateStatus: { State: 'completed' },
      },
      tasks: ['a', 'b', 'c', 'd'].map((ID, i) => task({ ID, Slot: (i % 2) + 1 })),
      nodes: new Map(),
      health: new Map(),
    });
    expect(s).toMatchObject({ desired: 2, running: 4 });
    expect(s.tasks.map((t) => t.slot)).toEqual([1, 1, 2, 2]);
  });

  it('a global service asks for as many tasks as Swarm placed; one never updated has no update state', () => {
    const s = swarmServiceStatus({
      service: { ID: 'g', Spec: { Name: 'g', Mode: { Global: {} } } },
      tasks: [task({ ID: 'a' }), task({ ID: 'b', NodeID: 'n2' })],
      nodes: new Map(),
      health: new Map(),
    });
    expect(s).toMatchObject({ desired: 2, global: true, running: 2 });
    expect(s.update).toBeUndefined();
  });
});
