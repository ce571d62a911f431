// `lugh github check` as a command: the report on stdout, exit 1 when something lugh needs is
// missing, 0 when only warnings remain, and never the token or the webhook secret printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS } from '../../src/sandbox/github/index.js';
import { instanceEnv } from '../helpers/instance-env.js';
import { runLugh } from '../helpers/lugh-process.js';
import { type Sandbox, startReceiver, startSandbox } from './sandbox/github/fixture.js';

const TOKEN = 'github_pat_11CheckCliTokenForLughTests0123456789';
const SECRET = 'check-cli-webhook-secret-0123';

describe('lugh github check', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    receiver = await startReceiver(202);
    sandbox = await startSandbox({
      token: TOKEN,
      tokenGrant: { kind: 'fine-grained', permissions: DEFAULT_PERMISSIONS },
      webhook: { url: receiver.url, secret: SECRET, contentType: 'json' },
    });
    await sandbox.gh.pushCommit('develop', { message: 'Work', files: { 'W.md': 'w\n' } });
    await sandbox.gh.settled();
    env = instanceEnv({
      databaseUrl: 'postgres://lugh_staging:unused@127.0.0.1:1/staging_lugh',
      apiRoot: 'http://127.0.0.1:9',
      extra: {
        GITHUB_TOKEN: TOKEN,
        GITHUB_REPO: 'acme/app',
        GITHUB_API_URL: sandbox.gh.apiUrl,
        GITHUB_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'silent',
      },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('exits 0 with everything lugh needs, printing each finding', async () => {
    const { code, stdout } = await runLugh(['github', 'check'], env);
    expect(code, stdout).toBe(0);
    expect(stdout).toContain('lugh github check: acme/app');
    expect(stdout).toMatch(/^PASS {2}permission-deployments/m);
    expect(stdout).toMatch(/^WARN {2}permission-workflows/m);
    expect(stdout).toMatch(/0 failed$/m);
  });

  it('exits 1 when a permission lugh needs is missing, saying what to grant, and prints no secret', async () => {
    sandbox.gh.setTokenGrant({
      kind: 'fine-grained',
      permissions: { ...DEFAULT_PERMISSIONS, deployments: 'read' },
    });
    const { code, stdout, stderr } = await runLugh(['github', 'check'], env);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL {2}permission-deployments/m);
    expect(stdout).toContain(
      'fix: Give GITHUB_TOKEN (or its GitHub App) “Deployments: read and write” on acme/app.',
    );
    for (const secret of [TOKEN, SECRET]) expect(stdout + stderr).not.toContain(secret);
  });

  it('asks for the subcommand', async () => {
    const { code, stderr } = await runLugh(['github'], env);
    expect(code).toBe(2);
    expect(stderr).toContain('usage: lugh github check');
  });
});
