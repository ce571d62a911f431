import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../../src/deployer/runtime/create-runtime.js';
import { silentLogger as logger } from '../../helpers/logger.js';

// No call reaches an engine: building a runtime only keeps its collaborators.
const docker = new Docker({ socketPath: '/nonexistent.sock' });

describe('the runtime chosen from DEPLOY_RUNTIME', () => {
  it('docker: lugh switches containers itself, and deploys service sets', () => {
    const runtime = createRuntime({ kind: 'docker', docker, logger });
    expect([runtime.name, typeof runtime.switchSet]).toEqual(['docker', 'function']);
  });

  it('swarm: a service update, and no service sets (resolve refuses them, naming the runtime)', () => {
    const runtime = createRuntime({ kind: 'swarm', docker, logger });
    expect([runtime.name, runtime.switchSet]).toEqual(['swarm', undefined]);
  });
});
