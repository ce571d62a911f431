// Where strings leave lugh, the redactor stands: env files of both environments, the Bot
// API transformer, the forge proxy and the doctor's output.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transformer } from 'grammy';
import { describe, expect, it } from 'vitest';
import { redactingForge } from '../../src/app/forge.js';
import { redactOutgoing } from '../../src/bot/redact-outgoing.js';
import { secretsOfEnvFiles } from '../../src/config/index.js';
import { renderAuditText, runAudit } from '../../src/doctor/audit.js';
import type { Forge } from '../../src/forge/forge.js';
import { createRedactor, REDACTED } from '../../src/redact.js';

describe('secretsOfEnvFiles', () => {
  it('knows the secrets of both env files and their .local overrides, never placeholders', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-envs-'));
    writeFileSync(
      path.join(dir, '.env.staging'),
      'TELEGRAM_BOT_TOKEN=__SET_IN_.env.staging.local__\nPORT=3001\n',
    );
    writeFileSync(
      path.join(dir, '.env.staging.local'),
      'TELEGRAM_BOT_TOKEN=7001002:AAStagingSecretHalf_abcdefghijklmnop\nREDIS_URL=redis://:staging-redis-pw@r:6379\n',
    );
    writeFileSync(path.join(dir, '.env.prod'), 'GITHUB_TOKEN=changeme\n');
    writeFileSync(
      path.join(dir, '.env.prod.local'),
      'DATABASE_URL=postgres://lugh_prod:prod-db%2Fpw@db/prod_lugh\nTELEGRAM_WEBHOOK_SECRET=prod-webhook-secret\n',
    );
    expect(secretsOfEnvFiles(dir).sort()).toEqual(
      [
        '7001002:AAStagingSecretHalf_abcdefghijklmnop',
        'AAStagingSecretHalf_abcdefghijklmnop',
        'staging-redis-pw',
        'prod-db/pw',
        'prod-webhook-secret',
      ].sort(),
    );
  });

  it('is empty where there are no env files', () => {
    expect(secretsOfEnvFiles(mkdtempSync(path.join(tmpdir(), 'lugh-none-')))).toEqual([]);
  });
});

describe('redactOutgoing', () => {
  const redact = createRedactor(['hunter2-secret']);
  const call = async (method: string, payload: Record<string, unknown>) => {
    let sent: unknown;
    const prev = (async (_m: string, p: unknown) => {
      sent = p;
      return { ok: true, result: true };
    }) as unknown as Parameters<Transformer>[0];
    await redactOutgoing(redact)(prev, method as never, payload as never, undefined);
    return sent;
  };

  it('redacts every string of a Bot API call: text, caption, buttons, answers', async () => {
    expect(
      await call('sendMessage', {
        chat_id: 1,
        text: 'failed: <code>hunter2-secret</code>',
        reply_markup: { inline_keyboard: [[{ text: 'x hunter2%2Dsecret', callback_data: 'd:1' }]] },
      }),
    ).toEqual({
      chat_id: 1,
      text: `failed: <code>${REDACTED}</code>`,
      reply_markup: { inline_keyboard: [[{ text: `x ${REDACTED}`, callback_data: 'd:1' }]] },
    });
    expect(await call('answerCallbackQuery', { text: 'hunter2-secret' })).toEqual({ text: REDACTED });
  });

  it('leaves setWebhook’s secret_token alone: Telegram must receive it', async () => {
    expect(await call('setWebhook', { url: 'https://x', secret_token: 'hunter2-secret' })).toEqual({
      url: 'https://x',
      secret_token: 'hunter2-secret',
    });
  });
});

describe('redactingForge', () => {
  it('redacts every string a forge call carries, nested ones too', async () => {
    const calls: unknown[][] = [];
    const forge = redactingForge(
      {
        setDeploymentStatus: async (...args: unknown[]) => void calls.push(args),
        createDeployment: async (...args: unknown[]) => {
          calls.push(args);
          return { id: 1 };
        },
      } as unknown as Forge,
      createRedactor(['ghs_secretToken123']),
    );
    await forge.setDeploymentStatus(7, 'error', 'clone failed: https://x:ghs_secretToken123@github.com');
    await forge.createDeployment(
      ...([
        { sha: 'abc', payload: { note: Buffer.from('ghs_secretToken123').toString('base64') } },
      ] as unknown as Parameters<Forge['createDeployment']>),
    );
    expect(calls).toEqual([
      [7, 'error', `clone failed: https://x:${REDACTED}@github.com`],
      [{ sha: 'abc', payload: { note: REDACTED } }],
    ]);
  });
});

describe('the doctor’s output', () => {
  it('carries no secret of either environment, the Redis password and webhook secrets included', async () => {
    const secrets = {
      redis: 'doctor-redis-pw-123',
      tgWebhook: 'doctor-tg-webhook-456',
      ghWebhook: 'doctor-gh-webhook-789',
    };
    // The home and prefix are quoted as evidence; here they carry the secrets (as a careless
    // operator's paste might), which the output must not show.
    const settings = (env: 'staging' | 'production') => ({
      settings: {
        APP_ENV: env,
        REDIS_URL: `redis://:${secrets.redis}@redis:6379`,
        REDIS_PREFIX: env === 'staging' ? `staging-${secrets.tgWebhook}` : `prod-${secrets.ghWebhook}`,
        LUGH_HOME: `/home/${secrets.redis}/${env}`,
        TELEGRAM_WEBHOOK_SECRET: secrets.tgWebhook,
        GITHUB_WEBHOOK_SECRET: secrets.ghWebhook,
      },
      from: `.env.${env}`,
    });
    const report = await runAudit({ settings, timeoutMs: 2_000 });
    const text = renderAuditText(report);
    expect(text).toContain(REDACTED);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  });
});
