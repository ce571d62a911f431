// deploy/bootstrap.sh --swarm in its dry-run mode, on the shared swarm manager: everything it
// reads is real (the swarm, the secrets already there, the networks, the stack files the
// docker CLI checks with `docker stack config`), and every change is printed instead of
// made. What it proves: the checks, the secret names and their rotation (an existing secret
// with another value gets a new versioned name; an unchanged one is kept), that the stacks
// it would deploy are valid, and that no secret value is printed. The real run is
// bootstrap-swarm-real.test.ts.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { REPO_ROOT, testDocker, uniqueName } from '../../helpers/docker.js';
import { ensureSwarm, removeSwarmResources } from '../../helpers/swarm.js';

const execFileAsync = promisify(execFile);
const { docker, engine } = await testDocker();
const swarm = engine && (await ensureSwarm(docker).catch(() => false));

const KEYS = generatePromoteKeys();
const secrets = {
  staging: {
    TELEGRAM_BOT_TOKEN: '7017101:AABootstrapSwarmStaging_abcdefghijk',
    DATABASE_URL: 'postgres://lugh_staging:staging-db-s3cret@lugh-postgres:5432/staging_lugh',
    GITHUB_TOKEN: 'ghs_bootstrapSwarmStagingToken',
    PROMOTE_SIGNING_KEY: KEYS.signingKey,
  },
  prod: {
    TELEGRAM_BOT_TOKEN: '7017102:AABootstrapSwarmProd_abcdefghijklmn',
    DATABASE_URL: 'postgres://lugh_prod:prod-db-s3cret@lugh-postgres:5432/prod_lugh',
    GITHUB_TOKEN: 'ghs_bootstrapSwarmProdToken',
  },
};

describe.skipIf(!swarm)('deploy/bootstrap.sh --swarm --dry-run', () => {
  const run = uniqueName('lugh-test-bswarm');
  const stacks = { staging: `${run}-staging`, prod: `${run}-prod` };
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-bootstrap-swarm-'));
  const checkout = path.join(dir, 'lugh');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LUGH_STACK_STAGING: stacks.staging,
    LUGH_STACK_PROD: stacks.prod,
    LUGH_DATA_NETWORK_STAGING: `${run}-staging-data`,
    LUGH_DATA_NETWORK_PROD: `${run}-prod-data`,
    // Nothing answers there: the dry run says what it would set up.
    REGISTRY_ADDR: '127.0.0.1:9',
  };
  const bootstrap = (...args: string[]) =>
    execFileAsync('bash', ['deploy/bootstrap.sh', '--swarm', '--dry-run', ...args], {
      cwd: checkout,
      env,
      timeout: 120_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
  const digest = (value: string) => createHash('sha256').update(`${value}\n`).digest('hex');
  const secret = (name: string, base: string, sha256: string) =>
    docker.createSecret({
      Name: name,
      Labels: { 'lugh.test': run, 'lugh.secret': base, 'lugh.sha256': sha256 },
      Data: Buffer.from('not the value\n').toString('base64'),
    });

  beforeAll(async () => {
    // A checkout as a user has one: the repository's files, committed.
    for (const entry of [
      'deploy',
      'docker-compose.staging.yml',
      'docker-compose.prod.yml',
      'docker-compose.infra.yml',
      '.env.staging',
      '.env.prod',
      '.env.infra',
    ])
      cpSync(path.join(REPO_ROOT, entry), path.join(checkout, entry), { recursive: true });
    const local = (name: string, values: Record<string, string>) =>
      writeFileSync(
        path.join(checkout, `.env.${name}.local`),
        `${Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n`,
      );
    local('infra', { POSTGRES_PASSWORD: 'pg-s3cret', STAGING_DB_PASSWORD: 'a1', PROD_DB_PASSWORD: 'b2' });
    local('staging', { ...secrets.staging, ADMIN_IDS: '4242', LUGH_HOME: path.join(dir, '.lugh-staging') });
    local('prod', {
      ...secrets.prod,
      ADMIN_IDS: '4242',
      LUGH_HOME: path.join(dir, '.lugh-prod'),
      PROMOTE_VERIFY_KEY: KEYS.verifyKey,
    });
    execFileSync('git', ['init', '-q', checkout]);
    execFileSync('git', ['-C', checkout, 'add', '-A']);
    execFileSync('git', ['-C', checkout, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);

    // staging's token: a secret there from before with another value (to rotate);
    // staging's database URL: one with the same value (to keep).
    await secret(
      `${stacks.staging}-telegram-bot-token`,
      `${stacks.staging}-telegram-bot-token`,
      digest('old'),
    );
    await secret(
      `${stacks.staging}-database-url-v3`,
      `${stacks.staging}-database-url`,
      digest(secrets.staging.DATABASE_URL),
    );
  }, 120_000);

  afterAll(async () => {
    await removeSwarmResources(docker, run);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says what it would do, rotates a changed secret to a new name, keeps an unchanged one, prints no secret', async () => {
    const { code, out } = await bootstrap();
    expect(code, out).toBe(0);
    expect(out).toContain('a manager of swarm');
    expect(out).toContain(
      `would run: docker network create --driver overlay --internal --attachable ${run}-prod-data`,
    );
    expect(out).toContain(
      'would run: docker-compose -p lugh-infra --env-file .env.infra -f docker-compose.infra.yml -f deploy/swarm/infra.yml up -d',
    );
    expect(out).toContain(
      `would create secret ${stacks.staging}-telegram-bot-token-v2 from TELEGRAM_BOT_TOKEN (rotating ${stacks.staging}-telegram-bot-token: the value changed)`,
    );
    expect(out).toContain(`${stacks.staging}-database-url-v3 (DATABASE_URL): unchanged`);
    expect(out).toContain(`would create secret ${stacks.prod}-telegram-bot-token from TELEGRAM_BOT_TOKEN`);
    // Staging mounts the signing key; production has none to mount.
    expect(out).toContain(
      `would create secret ${stacks.staging}-promote-signing-key from PROMOTE_SIGNING_KEY`,
    );
    expect(out).not.toContain(`${stacks.prod}-promote-signing-key`);
    // The migrations get secrets as files only.
    expect(out).toMatch(new RegExp(`would run: docker run --rm --network ${run}-staging-data .*migrate`));
    expect(out).toContain(
      `would run: python3 deploy/swarm/compose-for-swarm.py docker-compose.prod.yml | docker stack deploy -c - -c deploy/swarm/prod.yml ${stacks.prod}`,
    );
    for (const values of Object.values(secrets))
      for (const value of Object.values(values)) expect(out).not.toContain(value);
    for (const password of ['staging-db-s3cret', 'prod-db-s3cret', 'pg-s3cret'])
      expect(out).not.toContain(password);
    // A dry run changes nothing.
    const names = (
      await docker.listSecrets({ filters: JSON.stringify({ label: [`lugh.test=${run}`] }) })
    ).map((s) => s.Spec?.Name);
    expect(names.sort()).toEqual([
      `${stacks.staging}-database-url-v3`,
      `${stacks.staging}-telegram-bot-token`,
    ]);
    await expect(docker.getNetwork(`${run}-prod-data`).inspect()).rejects.toThrow();
  }, 180_000);

  it('refuses one token for both environments, and a missing .local file', async () => {
    writeFileSync(
      path.join(checkout, '.env.prod.local'),
      `TELEGRAM_BOT_TOKEN=${secrets.staging.TELEGRAM_BOT_TOKEN}\nADMIN_IDS=1\nDATABASE_URL=${secrets.prod.DATABASE_URL}\nLUGH_HOME=/tmp/x/.lugh-prod\n`,
    );
    const same = await bootstrap();
    expect(same.code).toBe(1);
    expect(same.out).toContain('staging and production use the same TELEGRAM_BOT_TOKEN');
    expect(same.out).not.toContain(secrets.staging.TELEGRAM_BOT_TOKEN);
    rmSync(path.join(checkout, '.env.infra.local'));
    const missing = await bootstrap();
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('.env.infra.local is missing');
  }, 120_000);
});
