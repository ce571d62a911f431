import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceFile } from '../../../src/deployer/service-set.js';
import { seedSandboxRepository } from '../../../src/sandbox/github/index.js';

const show = (repo: string, what: string) =>
  execFileSync('git', ['--git-dir', repo, 'show', what]).toString();
const newRepo = () => path.join(mkdtempSync(path.join(tmpdir(), 'lugh-seeded-set-')), 'repo.git');

describe('the sandbox’s seeded repository', () => {
  it('is the same on every run: fixed SHAs, the set one commit past the one service', async () => {
    const plain = await seedSandboxRepository(newRepo());
    const sandbox = await seedSandboxRepository(newRepo(), { serviceSet: true });
    expect(plain).toEqual({
      mainSha: '7a62cbcbeb05818fa2b37c0005ace64c9a4352f8',
      developSha: '4b532c61bc1dadb6bc900a2504facc58ac31389e',
      oneServiceSha: '4b532c61bc1dadb6bc900a2504facc58ac31389e',
    });
    expect(sandbox).toEqual({
      mainSha: plain.mainSha,
      developSha: 'f1fefc3f09cfbcb7415e397dcc395cad9ce14877',
      oneServiceSha: plain.developSha,
    });
  });

  it('declares on develop a set lugh can deploy without a proxy: the worker, then app ×2', async () => {
    const repo = newRepo();
    await seedSandboxRepository(repo, { serviceSet: true });
    const set = parseServiceFile(show(repo, 'develop:lugh.yml'));
    expect(
      set.services.map((s) => ({
        name: s.name,
        replicas: s.replicas,
        traffic: s.traffic,
        command: s.command,
        health: s.health,
        build: s.build,
      })),
    ).toEqual([
      {
        name: 'worker',
        replicas: 1,
        traffic: false,
        command: ['node', 'worker.js'],
        health: { command: ['node', 'worker.js', '--check'], intervalSeconds: 2 },
        build: { dockerfile: 'Dockerfile', context: '.' },
      },
      {
        name: 'app',
        replicas: 2,
        traffic: false,
        command: undefined,
        health: { http: '/healthz' },
        build: { dockerfile: 'Dockerfile', context: '.' },
      },
    ]);
    // The image the worker shares carries its script; main has neither.
    expect(show(repo, 'develop:Dockerfile')).toContain('COPY package.json server.js worker.js ./');
    expect(() => show(repo, 'main:lugh.yml')).toThrow();
    execFileSync(process.execPath, ['--check', '-'], { input: show(repo, 'develop:worker.js') });
  });
});
