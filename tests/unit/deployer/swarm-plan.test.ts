import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { planMigrationJob } from '../../../src/deployer/runtime/swarm-migration.js';
import {
  planPutBack,
  planServiceUpdate,
  surplusOf,
  type TaskFacts,
  tasksOfUpdate,
  updatingText,
} from '../../../src/deployer/runtime/swarm-plan.js';

const SHA = 'a'.repeat(40);
const OLD = 'b'.repeat(40);

/** A service as a stack deploys it: env, a secret, a network, a health check, 2 replicas. */
const stackSpec: Docker.ServiceSpec = {
  Name: 'lugh-staging_app',
  Labels: { 'com.docker.stack.namespace': 'lugh-staging' },
  TaskTemplate: {
    ContainerSpec: {
      Image: 'registry:5000/lugh-app@sha256:old',
      Env: ['APP_ENV=staging', `GIT_SHA=${OLD}`],
      Labels: { 'com.docker.stack.namespace': 'lugh-staging' },
      Secrets: [
        {
          SecretID: 's1',
          SecretName: 'lugh-staging_token',
          File: { Name: 'token', UID: '0', GID: '0', Mode: 0o400 },
        },
      ],
      HealthCheck: { Test: ['CMD', 'lugh', 'healthcheck'], Interval: 1e9 },
    },
    Networks: [{ Target: 'net1', Aliases: ['app'] }],
    Placement: { Constraints: ['node.role==manager'] },
  },
  Mode: { Replicated: { Replicas: 2 } },
};

describe('the Swarm service update a deploy issues', () => {
  it('changes the image, the commit and the update settings, and keeps everything the stack set', () => {
    const next = planServiceUpdate(
      stackSpec,
      { image: 'registry:5000/lugh-app@sha256:new', sha: SHA, token: 't1' },
      { monitorMs: 3_000 },
    );
    expect(next).toEqual({
      ...stackSpec,
      Labels: { 'com.docker.stack.namespace': 'lugh-staging', 'lugh.sha': SHA },
      TaskTemplate: {
        ...stackSpec.TaskTemplate,
        ContainerSpec: {
          ...(stackSpec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec,
          Image: 'registry:5000/lugh-app@sha256:new',
          Env: ['APP_ENV=staging', `GIT_SHA=${SHA}`],
          Labels: { 'com.docker.stack.namespace': 'lugh-staging', 'lugh.sha': SHA, 'lugh.update': 't1' },
        },
      },
      UpdateConfig: {
        Parallelism: 1,
        Delay: 0,
        Order: 'start-first',
        FailureAction: 'rollback',
        Monitor: 3e9,
        MaxFailureRatio: 0,
      },
      RollbackConfig: {
        Parallelism: 1,
        Delay: 0,
        Order: 'start-first',
        FailureAction: 'pause',
        Monitor: 3e9,
        MaxFailureRatio: 0,
      },
    });
  });

  it('sets COMMIT_SHA too when the image bakes it in (an image reused for another commit names that one)', () => {
    const next = planServiceUpdate(
      stackSpec,
      { image: 'x:1', sha: SHA, token: 't' },
      { monitorMs: 1, imageEnv: [`COMMIT_SHA=${OLD}`] },
    );
    expect((next.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec?.Env).toEqual([
      'APP_ENV=staging',
      `GIT_SHA=${SHA}`,
      `COMMIT_SHA=${SHA}`,
    ]);
  });

  it('puts back an older version by image and commit, without the update token', () => {
    const next = planServiceUpdate(stackSpec, { image: 'x:new', sha: SHA, token: 't' }, { monitorMs: 1 });
    const back = planPutBack(next, { image: 'x:old', sha: OLD }, { monitorMs: 1 });
    const container = (back.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec;
    expect([
      container?.Image,
      container?.Env,
      container?.Labels,
      back.Labels?.['lugh.sha'],
      back.UpdateConfig?.FailureAction,
    ]).toEqual([
      'x:old',
      ['APP_ENV=staging', `GIT_SHA=${OLD}`],
      { 'com.docker.stack.namespace': 'lugh-staging', 'lugh.sha': OLD },
      OLD,
      // A put-back that fails pauses: rolling it back would bring the new version back.
      'pause',
    ]);
  });
});

const task = (id: string, token: string, state: string, desired = 'running', at = id): TaskFacts => ({
  ID: id,
  DesiredState: desired,
  CreatedAt: at,
  Spec: { ContainerSpec: { Labels: { 'lugh.update': token } } },
  Status: { State: state },
});

describe("an update's tasks", () => {
  it('counts the running tasks of this update only, and says so', () => {
    const tasks = [task('1', 'old', 'running'), task('2', 'new', 'running'), task('3', 'new', 'starting')];
    expect(tasksOfUpdate(tasks, 'new')).toEqual({ running: 1, failed: undefined });
    expect(updatingText(1, 2)).toBe('updating 1/2 tasks');
  });

  it('takes a task that ended on its own for a failure, never one Swarm stopped on purpose', () => {
    const stopped = task('2', 'new', 'shutdown', 'shutdown');
    const died = task('3', 'new', 'complete', 'shutdown');
    expect(tasksOfUpdate([stopped], 'new').failed).toBeUndefined();
    expect(tasksOfUpdate([stopped, died, task('4', 'new', 'failed')], 'new').failed?.ID).toBe('3');
  });

  it("judges only the tasks that ended in a verify's own window, when it names one", () => {
    const at = (t: TaskFacts, iso: string): TaskFacts => ({ ...t, Status: { ...t.Status, Timestamp: iso } });
    const killedBefore = at(task('3', 'new', 'failed', 'shutdown'), '2026-12-01T03:00:00.000000000Z');
    const diedIn = at(task('4', 'new', 'failed', 'shutdown'), '2026-12-01T03:00:10.500000000Z');
    const since = Date.parse('2026-12-01T03:00:05Z');
    expect(tasksOfUpdate([killedBefore, task('5', 'new', 'running')], 'new', since).failed).toBeUndefined();
    expect(tasksOfUpdate([killedBefore, diedIn], 'new', since).failed?.ID).toBe('4');
    // Without a window, every task that ended counts (the update's own health gate).
    expect(tasksOfUpdate([killedBefore], 'new').failed?.ID).toBe('3');
  });

  it('counts the tasks Swarm wants running beyond one per slot (moby/swarmkit#2242), not the ones it stopped', () => {
    const task = (ID: string, Slot: number, DesiredState: string): TaskFacts => ({ ID, Slot, DesiredState });
    expect(surplusOf([task('a', 1, 'running'), task('b', 2, 'running'), task('c', 1, 'shutdown')])).toBe(0);
    expect(
      surplusOf([
        task('a', 1, 'running'),
        task('b', 1, 'running'),
        task('c', 2, 'running'),
        task('d', 2, 'running'),
        task('e', 2, 'shutdown'),
      ]),
    ).toBe(2);
    // A global service's tasks have no slot: one per node.
    const global = (ID: string, NodeID: string): TaskFacts => ({ ID, NodeID, DesiredState: 'running' });
    expect(surplusOf([global('a', 'n1'), global('b', 'n2')])).toBe(0);
    expect(surplusOf([global('a', 'n1'), global('b', 'n1')])).toBe(1);
  });
});

describe('the migration job', () => {
  it("is a one-off ReplicatedJob with the app's env, secrets, networks and placement, the new image and the command, no health check, never restarted, outside the stack", () => {
    const job = planMigrationJob(
      stackSpec,
      { name: 'app-migrate-aaaaaaa', serviceName: 'lugh-staging_app', image: 'x:new', sha: SHA },
      ['node', 'dist/cli.js', 'migrate'],
    );
    const template = job.TaskTemplate as Docker.ContainerTaskSpec;
    expect(job.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(job.Labels).toEqual({
      'lugh.role': 'migrate',
      'lugh.migrate-of': 'lugh-staging_app',
      'lugh.sha': SHA,
    });
    expect(template.RestartPolicy).toEqual({ Condition: 'none', MaxAttempts: 0 });
    expect(template.Networks).toEqual([{ Target: 'net1', Aliases: ['app'] }]);
    expect(template.Placement).toEqual({ Constraints: ['node.role==manager'] });
    expect(template.ContainerSpec).toMatchObject({
      Image: 'x:new',
      Command: ['node', 'dist/cli.js', 'migrate'],
      Args: [],
      Env: ['APP_ENV=staging', `GIT_SHA=${SHA}`],
      HealthCheck: { Test: ['NONE'] },
      Secrets: (stackSpec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec?.Secrets,
    });
  });
});
