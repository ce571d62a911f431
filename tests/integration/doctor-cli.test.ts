// `lugh doctor` where no Docker engine answers: the settings checks still run, from the
// committed env files and their .local overrides, and the container checks fail saying why.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runLugh } from '../helpers/lugh-process.js';

const STAGING_TOKEN = '7201001:AAStagingFromEnvFile_abcdefghijklmnopq';
const PROD_TOKEN = '7201002:AAProdFromEnvFile_abcdefghijklmnopqrstu';
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/lugh-doctor-test.sock' };

describe('lugh doctor without a Docker engine', () => {
  let dir: string;

  const local = (file: string, token: string, password: string) =>
    writeFileSync(
      path.join(dir, `${file}.local`),
      `TELEGRAM_BOT_TOKEN=${token}\nDATABASE_URL=postgres://lugh_${file === '.env.prod' ? 'prod' : 'staging'}:${password}@lugh-postgres:5432/${file === '.env.prod' ? 'prod' : 'staging'}_lugh\nADMIN_IDS=1\n`,
    );

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lugh-doctor-'));
    for (const file of ['.env.staging', '.env.prod'])
      copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
    local('.env.staging', STAGING_TOKEN, 'staging-db-secret');
    local('.env.prod', PROD_TOKEN, 'prod-db-secret');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const line = (out: string, id: string) => out.split('\n').find((l) => l.includes(` ${id} `)) ?? '';

  it('checks the settings from the env files, fails the container checks with the reason, exits 1', async () => {
    const { code, stdout } = await runLugh(['doctor', '--dir', dir], NO_DOCKER);
    expect(code).toBe(1);
    for (const id of ['db-name', 'redis-prefix', 'home', 'bot-token', 'flags'])
      expect(line(stdout, id), stdout).toMatch(/^PASS/);
    for (const id of ['network', 'host-ports', 'db-port', 'db-role', 'priority', 'identity-staging'])
      expect(line(stdout, id), stdout).toMatch(/^FAIL/);
    expect(stdout).toContain(`staging uses staging_lugh (from ${path.join(dir, '.env.staging')})`);
    expect(stdout).toContain('staging is bot 7201001; production bot 7201002');
    expect(stdout).toContain('the Docker engine is unreachable (ENOENT)');
    expect(stdout).toContain('on in staging, off in production: release_tags, deploy_on_push');
    for (const secret of [STAGING_TOKEN, PROD_TOKEN, 'staging-db-secret', 'prod-db-secret'])
      expect(stdout).not.toContain(secret);
  });

  it('fails bot-token when staging is given production’s token, without printing it', async () => {
    local('.env.staging', PROD_TOKEN, 'staging-db-secret');
    const { code, stdout } = await runLugh(['doctor', '--dir', dir], NO_DOCKER);
    expect(code).toBe(1);
    expect(line(stdout, 'bot-token')).toMatch(/^FAIL/);
    expect(stdout).toContain('both use the token of bot 7201002');
    expect(stdout).not.toContain(PROD_TOKEN.split(':')[1]);
  });
});
