import { describe, expect, it } from 'vitest';
import { ConfigError, createConfig, describeConfig } from '../../src/config/index.js';

const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
  DATABASE_URL: 'postgres://lugh_staging:s3cretpw@db:5432/staging_lugh',
  REDIS_URL: 'redis://redis:6379',
  ADMIN_IDS: '111, 222',
};

describe('NOTIFY_* settings', () => {
  it('default to the first admin’s private chat, a 20 s health sample, degraded after 3 and recovered after 2', () => {
    const config = createConfig({ ...staging, NOTIFY_CHAT_ID: '' });
    expect(config.notify).toEqual({
      chatId: 111,
      healthIntervalMs: 20_000,
      degradedAfter: 3,
      recoveredAfter: 2,
    });
    expect(describeConfig(config)).toMatchObject({ NOTIFY_CHAT_ID: 111, NOTIFY_HEALTH_INTERVAL_SECONDS: 20 });
  });

  it('take a group chat id (negative) and shorter samples', () => {
    const config = createConfig({
      ...staging,
      NOTIFY_CHAT_ID: '-1001234567890',
      NOTIFY_HEALTH_INTERVAL_SECONDS: '5',
      NOTIFY_DEGRADED_AFTER: '1',
      NOTIFY_RECOVERED_AFTER: '4',
    });
    expect(config.notify).toEqual({
      chatId: -1001234567890,
      healthIntervalMs: 5_000,
      degradedAfter: 1,
      recoveredAfter: 4,
    });
  });

  it('refuse what is not a chat id or a count, naming the variable', () => {
    let problems: readonly { variable: string; message: string }[] = [];
    try {
      createConfig({ ...staging, NOTIFY_CHAT_ID: '@ops', NOTIFY_HEALTH_INTERVAL_SECONDS: '0' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.variable)).toEqual(['NOTIFY_CHAT_ID', 'NOTIFY_HEALTH_INTERVAL_SECONDS']);
    expect(problems[0]!.message).toMatch(/^must be a Telegram chat id/);
  });
});
