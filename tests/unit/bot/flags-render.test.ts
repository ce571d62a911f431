// /flags says why a flag that follows a setting is on or off (previews: PREVIEW_URL_TEMPLATE).
import { describe, expect, it } from 'vitest';
import { renderFlags } from '../../../src/bot/features/flags.js';
import { createConfig } from '../../../src/config/index.js';

const staging = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
  DATABASE_URL: 'postgres://lugh_staging:pw@db:5432/staging_lugh',
  REDIS_URL: 'redis://redis:6379',
  ADMIN_IDS: '111',
};
const line = (text: string) => text.split('\n').find((l) => l.includes('<code>previews</code>'));

describe('/flags', () => {
  it('says the previews default follows PREVIEW_URL_TEMPLATE, and when FEATURE_PREVIEWS set it', () => {
    const on = createConfig({ ...staging, PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/' });
    expect(line(renderFlags(on, 'details'))).toBe(
      '✅ <code>previews</code> (experimental, staging default, as PREVIEW_URL_TEMPLATE is set)',
    );
    expect(line(renderFlags(createConfig(staging), 'details'))).toBe(
      '⬜️ <code>previews</code> (experimental, staging default, as PREVIEW_URL_TEMPLATE is not set)',
    );
    const off = createConfig({
      ...staging,
      PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/',
      FEATURE_PREVIEWS: 'off',
    });
    expect(line(renderFlags(off, 'details'))).toBe(
      '⬜️ <code>previews</code> (experimental, set by FEATURE_PREVIEWS)',
    );
  });
});
