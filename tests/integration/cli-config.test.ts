import { describe, expect, it } from 'vitest';
import { FAKE_TOKEN, runLugh } from '../helpers/lugh-process.js';

describe('lugh config', () => {
  it('prints the effective configuration of .env.staging with every secret redacted, and exits 0', async () => {
    const result = await runLugh(['--env', 'staging', 'config'], {
      TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
      ADMIN_IDS: '12345',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('APP_ENV=staging');
    expect(result.stdout).toContain('REDIS_PREFIX=staging');
    expect(result.stdout).toContain('PORT=3001');
    expect(result.stdout).toContain(`TELEGRAM_BOT_TOKEN=[redacted] (bot id ${FAKE_TOKEN.split(':')[0]})`);
    expect(result.stdout).toMatch(/^flag promote: on/m);
    expect(result.stdout + result.stderr).not.toContain(FAKE_TOKEN.split(':')[1]);
  });

  it('exits 2 and names DATABASE_URL when production points at the staging database', async () => {
    const result = await runLugh(['--env', 'production', 'config'], {
      TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
      ADMIN_IDS: '12345',
      DATABASE_URL: 'postgres://lugh_prod:pw@localhost:5432/staging_lugh',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/✗ DATABASE_URL names database "staging_lugh", which belongs to staging/);
    expect(result.stdout).toBe('');
  });

  it('lists every problem of the committed file alone: its placeholders must be replaced', async () => {
    const result = await runLugh(['--env', 'production', 'config'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/✗ TELEGRAM_BOT_TOKEN is a placeholder/);
    expect(result.stderr).toMatch(/✗ ADMIN_IDS is a placeholder/);
  });

  it('names a missing env file and an unknown command', async () => {
    const missing = await runLugh(['--env-path', '.env.nope', 'config'], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('env file .env.nope does not exist');
    const badEnv = await runLugh(['--env', 'prod', 'config'], {});
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('--env must be staging or production');
    const unknown = await runLugh(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('usage: lugh');
  });
});
