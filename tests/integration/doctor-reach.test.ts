// `lugh doctor` says, for each environment's bot, which admins have not opened a chat with
// it yet (Telegram refuses a bot's first message to them: "chat not found"), asking the Bot
// API each env file names (here the Telegram stand-in). It informs; it fails no check.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { REPO_ROOT, runLugh } from '../helpers/lugh-process.js';

const STAGING_TOKEN = '7214001:AAStagingReachDoctor_abcdefghijklmnopq';
const PROD_TOKEN = '7214002:AAProdReachDoctor_abcdefghijklmnopqrstu';
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/lugh-doctor-reach-test.sock' };
const ada = { id: 41, first_name: 'Ada' };
const bea = { id: 42, first_name: 'Bea' };

describe('lugh doctor: the chats each bot can write to', () => {
  let dir: string;
  let tg: TelegramStandIn;

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: STAGING_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: PROD_TOKEN, username: 'LughBot', firstName: 'Lugh' });
    // Ada opened a chat with the staging bot only; Bea with neither.
    tg.sendText({ token: STAGING_TOKEN, chat: { id: ada.id, type: 'private' }, from: ada, text: '/start' });
    dir = mkdtempSync(path.join(tmpdir(), 'lugh-doctor-reach-'));
    for (const file of ['.env.staging', '.env.prod']) {
      copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
      const token = file === '.env.prod' ? PROD_TOKEN : STAGING_TOKEN;
      const env = file === '.env.prod' ? 'prod' : 'staging';
      writeFileSync(
        path.join(dir, `${file}.local`),
        [
          `TELEGRAM_BOT_TOKEN=${token}`,
          `TELEGRAM_API_ROOT=${tg.apiRoot}`,
          `DATABASE_URL=postgres://lugh_${env}:pw-${env}@lugh-postgres:5432/${env}_lugh`,
          `ADMIN_IDS=${ada.id},${bea.id}`,
          '',
        ].join('\n'),
      );
    }
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await tg?.close();
  });

  it('names each admin who has not opened a chat with each bot, without printing a token', async () => {
    const { stdout } = await runLugh(['doctor', '--dir', dir], NO_DOCKER);
    const section = stdout.slice(stdout.indexOf('Chats each bot can write to'));
    expect(section).toMatch(/^Chats each bot can write to/);
    expect(section).toContain(
      `staging @LughDevBot: cannot write to admin ${bea.id} yet (never opened a chat with it: they send it /start); writes to admin ${ada.id}`,
    );
    expect(section).toContain(
      `production @LughBot: cannot write to admins ${ada.id}, ${bea.id} yet (never opened a chat with it: they send it /start)`,
    );
    for (const secret of [STAGING_TOKEN, PROD_TOKEN]) expect(stdout).not.toContain(secret.split(':')[1]);
  });
});
