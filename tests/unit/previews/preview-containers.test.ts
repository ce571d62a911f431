// A preview container's create options, by equality: its own network, its limits, the
// lowest priority, only its own environment, a loopback port only without a proxy.
import { describe, expect, it } from 'vitest';
import { previewNames, previewTagPrefix } from '../../../src/previews/preview.js';
import {
  migrationContainerOptions,
  previewContainerOptions,
} from '../../../src/previews/preview-containers.js';

const spec = {
  names: previewNames(7),
  image: 'lugh:preview-pr-7-aaaaaaaaaaaa',
  sha: 'a'.repeat(40),
  env: { PORT: '8080', APP_ENV: 'preview' },
  port: 8080,
  memoryBytes: 256 * 2 ** 20,
  nanoCpus: 0.25e9,
};

describe('previewContainerOptions', () => {
  it('is the preview on its own network, limited, last in line, with its environment only', () => {
    expect(previewContainerOptions(spec, 'lugh-preview-pr-7-aaaaaaa-0f0f', { publish: false })).toEqual({
      name: 'lugh-preview-pr-7-aaaaaaa-0f0f',
      Image: 'lugh:preview-pr-7-aaaaaaaaaaaa',
      Env: ['PORT=8080', 'APP_ENV=preview'],
      Labels: {
        'lugh.preview': 'lugh',
        'lugh.preview.pr': '7',
        'lugh.preview.role': 'app',
        'lugh.preview.sha': 'a'.repeat(40),
      },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: 'lugh-preview-pr-7-net',
        Memory: 256 * 2 ** 20,
        MemorySwap: 256 * 2 ** 20,
        NanoCpus: 0.25e9,
        CpuShares: 128,
        OomScoreAdj: 1000,
        RestartPolicy: { Name: 'unless-stopped' },
        SecurityOpt: ['no-new-privileges'],
      },
    });
  });

  it('publishes its port on a loopback port Docker picks when there is no proxy', () => {
    expect(previewContainerOptions(spec, 'x', { publish: true }).HostConfig?.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
  });

  it('runs a migration once, with the same environment and network, no health check', () => {
    const options = migrationContainerOptions(spec, ['node', 'migrate.js']);
    expect(options).toMatchObject({
      name: 'lugh-preview-pr-7-migrate-aaaaaaa',
      Entrypoint: [],
      Cmd: ['node', 'migrate.js'],
      Env: ['PORT=8080', 'APP_ENV=preview'],
      Healthcheck: { Test: ['NONE'] },
      Labels: { 'lugh.preview.role': 'migrate' },
      HostConfig: { NetworkMode: 'lugh-preview-pr-7-net', RestartPolicy: { Name: 'no' }, OomScoreAdj: 1000 },
    });
  });
});

describe('previewTagPrefix', () => {
  it('is the service’s tag of a preview image without its number and commit', () => {
    expect(previewTagPrefix('lugh', '')).toBe('lugh:preview-pr-');
    expect(previewTagPrefix('lugh', 't-1a2b')).toBe('lugh:t-1a2b-preview-pr-');
  });
});
