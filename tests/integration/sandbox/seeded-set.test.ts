import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { seedSandboxRepository } from '../../../src/sandbox/github/index.js';

const show = (repo: string, what: string) =>
  execFileSync('git', ['--git-dir', repo, 'show', what]).toString();
const newRepo = () => path.join(mkdtempSync(path.join(tmpdir(), 'lugh-seeded-set-')), 'repo.git');

describe('the sandbox’s seeded repository', () => {
  it('is the same on every run: the same SHAs, the set one commit past the one service', async () => {
    const plain = await seedSandboxRepository(newRepo());
    const setRepo = newRepo();
    const sandbox = await seedSandboxRepository(setRepo, { serviceSet: true });
    // Seeded again into other folders at another moment: the very same commits.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await seedSandboxRepository(newRepo())).toEqual(plain);
    expect(await seedSandboxRepository(newRepo(), { serviceSet: true })).toEqual(sandbox);
    expect(plain.mainSha).toMatch(/^[0-9a-f]{40}$/);
    expect(plain.developSha).not.toBe(plain.mainSha);
    // Without the set, develop is the one service; with it, the set is one commit past it.
    expect(plain.oneServiceSha).toBe(plain.developSha);
    expect(sandbox).toEqual({
      mainSha: plain.mainSha,
      developSha: expect.not.stringMatching(plain.developSha),
      oneServiceSha: plain.developSha,
    });
    const parentOf = (ref: string) =>
      execFileSync('git', ['--git-dir', setRepo, 'rev-parse', `${ref}^`])
        .toString()
        .trim();
    expect(parentOf(sandbox.developSha)).toBe(plain.developSha);
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
