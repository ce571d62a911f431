import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { whyTaskEnded } from '../../../src/deployer/runtime/swarm-service.js';

/** An engine that has no logs for the task and none of its containers (the task ran on another node, or never ran). */
const engine = {
  getTask: () => ({ logs: async () => Buffer.alloc(0) }),
  getContainer: () => ({
    inspect: async () => Promise.reject(new Error('no such container')),
    logs: async () => Buffer.alloc(0),
  }),
} as unknown as Docker;

describe('why a Swarm task ended', () => {
  it('a node without the image says so and what to do, beside Swarm’s words', async () => {
    const { reason } = await whyTaskEnded(engine, {
      ID: 'abcdef0123456789',
      Status: { State: 'rejected', Err: 'No such image: lugh-app:staging-0123456789ab' },
    } as Parameters<typeof whyTaskEnded>[1]);
    expect(reason).toContain('task abcdef012345 failed: No such image: lugh-app:staging-0123456789ab');
    expect(reason).toContain(
      'its node could not get the image: set DEPLOY_REGISTRY so that every node pulls the pushed digest, or check the registry’s credentials',
    );
  });

  it('another failure keeps Swarm’s words alone', async () => {
    const { reason } = await whyTaskEnded(engine, {
      ID: 'abcdef0123456789',
      Status: { State: 'rejected', Err: 'invalid mount config for type "bind"' },
    } as Parameters<typeof whyTaskEnded>[1]);
    expect(reason).toBe('task abcdef012345 failed: invalid mount config for type "bind"');
  });
});
