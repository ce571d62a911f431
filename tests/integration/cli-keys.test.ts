// `lugh keys` and the refusals of `lugh config` about the promotion key pair, through the CLI.
import { describe, expect, it } from 'vitest';
import { FAKE_TOKEN, runLugh } from '../helpers/lugh-process.js';

const production = {
  TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
  ADMIN_IDS: '12345',
  DATABASE_URL: 'postgres://lugh_prod:pw@localhost:5432/prod_lugh',
  GITHUB_REPO: 'acme/app',
};
const staging = {
  TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
  ADMIN_IDS: '12345',
  DATABASE_URL: 'postgres://lugh_staging:pw@localhost:5432/staging_lugh',
};

async function freshPair() {
  const result = await runLugh(['keys'], {});
  expect(result.code, result.stderr).toBe(0);
  const line = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(result.stdout)?.[1];
  const pair = { signingKey: line('PROMOTE_SIGNING_KEY')!, verifyKey: line('PROMOTE_VERIFY_KEY')! };
  expect(pair.signingKey).toBeDefined();
  expect(pair.verifyKey).toBeDefined();
  return { pair, text: result.stdout };
}

describe('lugh keys and lugh config', () => {
  it('`lugh keys` prints a pair that each environment accepts in its own place, the private key never printed back', async () => {
    const { pair, text } = await freshPair();
    expect(text).toMatch(/\.env\.staging\.local[^\n]*\nPROMOTE_SIGNING_KEY=/);
    expect(text).toMatch(/\.env\.prod\.local[^\n]*\nPROMOTE_VERIFY_KEY=/);
    expect((await freshPair()).pair.signingKey).not.toBe(pair.signingKey);

    const prod = await runLugh(['--env', 'production', 'config'], {
      ...production,
      PROMOTE_VERIFY_KEY: pair.verifyKey,
    });
    expect(prod.code, prod.stderr).toBe(0);
    const stage = await runLugh(['--env', 'staging', 'config'], {
      ...staging,
      PROMOTE_SIGNING_KEY: pair.signingKey,
    });
    expect(stage.code, stage.stderr).toBe(0);
    expect(stage.stdout).toMatch(/^PROMOTE_SIGNING_KEY=\[redacted\]/m);
    expect(stage.stdout + stage.stderr).not.toContain(pair.signingKey);
  });

  it('exits 2 naming the variable: production without its key, a signing key in production, another pair’s key in staging, a malformed key', async () => {
    const [{ pair }, { pair: other }] = await Promise.all([freshPair(), freshPair()]);
    const cases: [string, Record<string, string>, RegExp][] = [
      ['production', production, /✗ PROMOTE_VERIFY_KEY is required in production while promotions are on/],
      [
        'production',
        { ...production, PROMOTE_VERIFY_KEY: pair.verifyKey, PROMOTE_SIGNING_KEY: pair.signingKey },
        /✗ PROMOTE_SIGNING_KEY is set in production/,
      ],
      [
        'staging',
        { ...staging, PROMOTE_VERIFY_KEY: pair.verifyKey },
        /✗ PROMOTE_VERIFY_KEY is set in staging/,
      ],
      [
        'staging',
        { ...staging, PROMOTE_SIGNING_KEY: pair.signingKey, PROMOTE_VERIFY_KEY: other.verifyKey },
        /✗ PROMOTE_VERIFY_KEY does not match PROMOTE_SIGNING_KEY/,
      ],
      [
        'production',
        { ...production, PROMOTE_VERIFY_KEY: 'AAAA' },
        /✗ PROMOTE_VERIFY_KEY is not an Ed25519 public key/,
      ],
      [
        'production',
        { ...production, PROMOTE_VERIFY_KEY: pair.signingKey },
        /✗ PROMOTE_VERIFY_KEY is a private key/,
      ],
    ];
    // Eight CLI starts: side by side, and with room for a loaded machine.
    const results = await Promise.all(cases.map(([env, vars]) => runLugh(['--env', env, 'config'], vars)));
    cases.forEach(([env, vars, problem], i) => {
      const result = results[i]!;
      expect(result.code, `${env} ${JSON.stringify(Object.keys(vars))}`).toBe(2);
      expect(result.stderr).toMatch(problem);
      expect(result.stdout + result.stderr).not.toContain(pair.signingKey);
    });
  }, 120_000);
});
