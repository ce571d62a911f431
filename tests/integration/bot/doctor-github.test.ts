// /doctor on an instance that talks to GitHub: after the isolation audit, the same report as
// `lugh github check`, through the Telegram stand-in, against a GitHub stand-in whose token
// lacks a permission lugh needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { runAudit } from '../../../src/doctor/audit.js';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { checkGitHubSetup } from '../../../src/forge/github/setup-check.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { DEFAULT_PERMISSIONS } from '../../../src/sandbox/github/index.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { repoParams as base, type Sandbox, startSandbox, TOKEN } from '../sandbox/github/fixture.js';

const BOT_TOKEN = '5550021:AADoctorGitHubTestToken_abcdefghijkl';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

describe('/doctor with GitHub configured', () => {
  let tg: Awaited<ReturnType<typeof startTelegramStandIn>>;
  let gh: Sandbox;
  let db: TestDatabase;
  let pool: ReturnType<typeof createPool>;
  let runtime: TelegramRuntime;

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: BOT_TOKEN, username: 'LughBot', firstName: 'Lugh' });
    gh = await startSandbox({
      tokenGrant: { kind: 'fine-grained', permissions: { ...DEFAULT_PERMISSIONS, deployments: 'read' } },
    });
    db = await createTestDatabase('prod_lugh');
    const config = instanceConfig({
      appEnv: 'production',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: BOT_TOKEN,
    });
    const logger = createLogger({ level: 'silent', secrets: secretsOf(config) });
    await runMigrations({ databaseUrl: config.databaseUrl, logger });
    pool = createPool(config.databaseUrl, 'doctor-github-test');
    const client = createGitHubClient({ token: TOKEN, apiUrl: gh.gh.apiUrl, logger, resilient: false });
    const { bot } = createBot({
      config,
      logger,
      audit: createAuditLog(pool, config.appEnv),
      redact: createRedactor(secretsOf(config)),
      doctor: {
        run: () => runAudit({}),
        github: () =>
          checkGitHubSetup(client, { owner: base.owner, name: base.repo }, { webhookSecretSet: false }),
      },
    });
    runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    await runtime.ready;
  });
  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await tg?.close();
    await gh?.close();
    await db?.drop();
  });

  it('follows the audit with the GitHub set-up, naming the missing permission and what to grant', async () => {
    const sent = tg.sendText({
      token: BOT_TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: '/doctor',
    });
    const github = await tg.waitForBotMessage(
      BOT_TOKEN,
      admin.id,
      (m) => m.message_id > sent.message_id && (m.text ?? '').startsWith('🐙 GitHub set-up of acme/app'),
      { timeoutMs: 20_000 },
    );
    expect(github.text).toMatch(/^🐙 GitHub set-up of acme\/app: ❌ 1 failed/);
    expect(github.text).toContain('❌ Deployments: read and write');
    expect(github.text).toContain(
      'Fix: Give GITHUB_TOKEN (or its GitHub App) “Deployments: read and write” on acme/app.',
    );
    expect(github.text).not.toContain(TOKEN);
  });
});
