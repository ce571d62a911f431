import { describe, expect, it } from 'vitest';
import { createConfig } from '../../src/config/index.js';
import { problemsOf } from '../helpers/config-problems.js';

const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
  DATABASE_URL: 'postgres://lugh_staging:s3cretpw@db:5432/staging_lugh',
  REDIS_URL: 'redis://:redispw@redis:6379',
  ADMIN_IDS: '111',
  TELEGRAM_WEBHOOK_SECRET: 'webhook-secret_0123',
};

describe('TELEGRAM_WEBHOOK_URL, as Telegram accepts it (HTTPS on port 443, 80, 88 or 8443)', () => {
  it.each([
    ['http://bot.example.com/webhooks/telegram', /https:\/\//],
    ['https://bot.example.com:3001/webhooks/telegram', /443, 80, 88 or 8443/],
  ])('refuses %s, saying what to do', (url, what) => {
    const problems = problemsOf({ ...staging, TELEGRAM_WEBHOOK_URL: url });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.variable).toBe('TELEGRAM_WEBHOOK_URL');
    expect(problems[0]?.message).toMatch(what);
    expect(problems[0]?.message).toMatch(/reverse proxy|unset it/);
  });

  it.each([
    'https://bot.example.com/webhooks/telegram',
    'https://bot.example.com:8443/webhooks/telegram',
    'https://bot.example.com:88/x',
    // A local Bot API server (`--local`) on this machine takes any scheme and port.
    'http://127.0.0.1:3001/webhooks/telegram',
  ])('accepts %s', (url) => {
    expect(createConfig({ ...staging, TELEGRAM_WEBHOOK_URL: url }).telegram.webhookUrl).toBe(url);
  });
});
