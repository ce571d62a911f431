// The secret scan: a full promotion on staging and the production deploy it hands over,
// with distinctive secrets that a careless migration prints in every form, then every
// place a string of lugh could end up is searched for them: logs, the chat transcripts
// and every Bot API call, Redis keys and values, every Postgres table of both instances,
// and what the GitHub stand-in stored (statuses, bodies, payloads, webhooks).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { type Config, createConfig, secretsOf } from '../../src/config/index.js';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import { settingsFromConfig } from '../../src/doctor/facts.js';
import type { Forge } from '../../src/forge/forge.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../../src/sandbox/free-port.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import {
  type Message,
  startTelegramStandIn,
  type TelegramStandIn,
} from '../../src/sandbox/telegram/index.js';
import { createRedis } from '../../src/store/redis.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../helpers/docker.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { silentLogger } from '../helpers/logger.js';
import { GREEN_CI } from '../helpers/promotion-world.js';
import { startSeededGitHub } from '../helpers/seeded-github.js';
import { createTestDatabase, redisUrl, type TestDatabase, withAdmin } from '../helpers/services.js';
import { openChat } from '../helpers/telegram.js';

const { docker, engine } = await testDocker();
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
type Env = 'staging' | 'production';

// Distinctive, and with the characters that encodings change (/, @, %, ", &, +).
const SECRETS = {
  tokens: {
    staging: '7003001:AAScanStagingSecret_Zq9xWv8uT7sR6pQ5o',
    production: '7003002:AAScanProdSecret_Lm4nK3jH2gF1dS0aPq',
  },
  github: 'ghs_ScanGitHubToken_9f8e7d6c5b4aQ',
  githubWebhook: 'scan-gh-webhook-S3cr3t/&x',
  telegramWebhook: { staging: 'scan_tg_webhook_Stg_77', production: 'scan_tg_webhook_Prd_88' },
  db: { staging: 'Stg"Db/pa55:w@rd%Q', production: 'Prd"Db/pa55:w@rd%Z' },
  redis: { staging: 'Redis+Stg/pw&K9', production: 'Redis+Prd/pw&J8' },
};

/** Every form the scan looks for, computed here independently of the product's redactor. */
function formsOf(secret: string): string[] {
  const b = Buffer.from(secret);
  const forms = new Set<string>([secret]);
  const enc = encodeURIComponent(secret);
  for (const e of [enc, encodeURIComponent(enc)]) {
    forms.add(e);
    forms.add(e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  }
  forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  let json = secret;
  for (let depth = 0; depth < 3; depth++) {
    json = JSON.stringify(json).slice(1, -1);
    forms.add(json);
  }
  forms.add(secret.replaceAll('&', '&amp;').replaceAll('"', '&quot;'));
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), b]).toString('base64');
    const piece = encoded.slice(offset ? 4 : 0, Math.floor((offset + b.length) / 3) * 4);
    forms.add(piece);
    forms.add(piece.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms].filter((f) => f.length >= 8);
}

// What the promoted migration does: print every secret of production's environment, in
// every form, and fail, so the text reaches the chat, the rows, the logs and GitHub.
const LEAKY_MIGRATION = `const e = process.env;
const all = [e.TELEGRAM_BOT_TOKEN, e.DATABASE_URL, e.REDIS_URL, e.GITHUB_TOKEN, e.GITHUB_WEBHOOK_SECRET, e.TELEGRAM_WEBHOOK_SECRET].join(' ');
console.error('connecting with', all);
console.error('encoded', encodeURIComponent(all), encodeURIComponent(encodeURIComponent(all)).toLowerCase());
console.error('base64', Buffer.from(all).toString('base64'));
console.error('json', JSON.stringify(JSON.stringify({ env: all })));
process.exit(3);
`;
const LEAKY_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
ARG GIT_SHA=unknown
ENV COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js leaky-migration.js ./
LABEL lugh.migrate='["node","leaky-migration.js"]'
HEALTHCHECK --interval=2s --timeout=10s --start-period=5s --retries=2 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
CMD ["node", "server.js"]
`;

interface Side {
  config: Config;
  instance: Instance;
  db: TestDatabase;
  logs: string[];
}

describe.skipIf(!engine)(
  'secret scan after a promotion and a production deploy (needs a Docker engine)',
  () => {
    const run = uniqueName('lugh-test-scan');
    const roles: string[] = [];
    const redisUsers: string[] = [];
    let tg: TelegramStandIn;
    let gh: GitHubStandIn;
    let forge: Forge;
    let seeded: { mainSha: string; developSha: string };
    const sides: Partial<Record<Env, Side>> = {};
    let outcome: Message;

    async function ownedDatabase(env: Env): Promise<TestDatabase> {
      const role = `${run.replace(/-/g, '_')}_${env}`;
      const password = SECRETS.db[env];
      await withAdmin((c) =>
        c.query(`create role "${role}" login password '${password.replaceAll("'", "''")}'`),
      );
      roles.push(role);
      const db = await createTestDatabase(env === 'staging' ? 'staging_lugh' : 'prod_lugh');
      await withAdmin((c) => c.query(`alter database "${db.name}" owner to "${role}"`));
      const url = new URL(db.url);
      url.username = role;
      url.password = encodeURIComponent(password);
      return { ...db, url: url.toString() };
    }

    async function redisWithPassword(env: Env): Promise<string> {
      const user = `${run}-${env}`;
      const admin = createRedis(redisUrl(), { connectionName: 'scan-setup' });
      try {
        await admin.call('ACL', 'SETUSER', user, 'on', `>${SECRETS.redis[env]}`, '~*', '&*', '+@all');
      } finally {
        await admin.quit();
      }
      redisUsers.push(user);
      const url = new URL(redisUrl());
      url.username = user;
      url.password = encodeURIComponent(SECRETS.redis[env]);
      return url.toString();
    }

    async function startSide(env: Env, port: number, baseImage: string): Promise<Side> {
      const db = await ownedDatabase(env);
      const config = createConfig(
        instanceEnv({
          appEnv: env,
          databaseUrl: db.url,
          apiRoot: tg.apiRoot,
          token: SECRETS.tokens[env],
          port,
          redisUrl: await redisWithPassword(env),
          extra: {
            GITHUB_TOKEN: SECRETS.github,
            GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
            GITHUB_API_URL: gh.apiUrl,
            GITHUB_WEBHOOK_SECRET: SECRETS.githubWebhook,
            TELEGRAM_WEBHOOK_SECRET: SECRETS.telegramWebhook[env],
            PROMOTE_POLL_SECONDS: '1',
            DEPLOY_CONTAINER: `${run}-${env}-app`,
            DEPLOY_IMAGE_REPOSITORY: run,
            DEPLOY_BASE_IMAGE: baseImage,
            DEPLOY_HEALTH_SECONDS: '40',
            DEPLOY_VERIFY_SECONDS: '2',
            LOG_LEVEL: 'debug',
          },
        }),
      );
      const logs: string[] = [];
      const logger = createLogger({
        level: 'debug',
        secrets: secretsOf(config),
        destination: { write: (l: string) => logs.push(l) },
      });
      const instance = await startInstance(config, logger, { resilientGitHub: false });
      await instance.telegram.ready;
      return { config, instance, db, logs };
    }

    beforeAll(async () => {
      const baseImage = await ensureBaseImage(docker);
      tg = await startTelegramStandIn();
      tg.registerBot({ token: SECRETS.tokens.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
      tg.registerBot({ token: SECRETS.tokens.production, username: 'LughBot', firstName: 'Lugh' });
      const stagingPort = await freePort();
      ({ gh, forge, seeded } = await startSeededGitHub(SECRETS.github, {
        url: `http://127.0.0.1:${stagingPort}/webhooks/github`,
        secret: SECRETS.githubWebhook,
      }));
      await gh.setDefaultCheckPlan(GREEN_CI);
      // What develop brings: a migration that prints production's secrets and fails.
      await gh.pushCommit('develop', {
        message: 'A migration that prints its environment',
        files: { Dockerfile: LEAKY_DOCKERFILE, 'leaky-migration.js': LEAKY_MIGRATION },
      });
      sides.staging = await startSide('staging', stagingPort, baseImage);
      sides.production = await startSide('production', await freePort(), baseImage);
      // Production runs main's image at first, in a container lugh will replace.
      const builder = createImageBuilder({ docker, logger: silentLogger, repository: run });
      const image = await builder.ensure({
        env: 'production',
        sha: seeded.mainSha,
        tarball: () => forge.tarball(seeded.mainSha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
      const container = await docker.createContainer({
        name: `${run}-production-app`,
        Image: image.tag,
        // It carries production's whole environment, secrets included, as a real one does.
        Env: [
          ...Object.entries(settingsFromConfig(sides.production.config)).map(([k, v]) => `${k}=${v}`),
          `REDIS_URL=${sides.production.config.redisUrl}`,
          `GITHUB_TOKEN=${SECRETS.github}`,
          `GITHUB_WEBHOOK_SECRET=${SECRETS.githubWebhook}`,
          `TELEGRAM_WEBHOOK_SECRET=${SECRETS.telegramWebhook.production}`,
          `GIT_SHA=${seeded.mainSha}`,
        ],
        Labels: { 'lugh.test': run },
      });
      await container.start();
      openChat(tg, SECRETS.tokens.production, admin);

      // The promotion, as the owner makes it from the phone.
      const say = (text: string) =>
        tg.sendText({
          token: SECRETS.tokens.staging,
          chat: { id: admin.id, type: 'private' },
          from: admin,
          text,
        });
      const wait = (token: string, predicate: (m: Message) => boolean, timeoutMs = 60_000) =>
        tg.waitForBotMessage(token, admin.id, predicate, { timeoutMs });
      const sent = say('/promote');
      const prompt = await wait(
        SECRETS.tokens.staging,
        (m) =>
          m.message_id > sent.message_id &&
          (m.text ?? '').includes('Merge and deploy to production?') &&
          !!m.reply_markup,
      );
      const yes = prompt.reply_markup?.inline_keyboard.flat().find((b) => b.text === 'Merge & deploy');
      tg.pressButton({
        token: SECRETS.tokens.staging,
        chatId: admin.id,
        messageId: prompt.message_id,
        data: yes!.callback_data!,
        from: admin,
      });
      await wait(SECRETS.tokens.staging, (m) => (m.text ?? '').includes('✅ Merged'));
      // Production claims the handed-over deployment and reports in the same chat.
      outcome = await wait(
        SECRETS.tokens.production,
        (m) => /^(✅|❌|↩️) Deploy #\d+/.test(m.text ?? ''),
        240_000,
      );
      // /logs of production's running container, as an admin would ask after a failure.
      tg.sendText({
        token: SECRETS.tokens.production,
        chat: { id: admin.id, type: 'private' },
        from: admin,
        text: '/logs production',
      });
      await wait(
        SECRETS.tokens.production,
        (m) => (m.text ?? m.caption ?? '').includes('production'),
        30_000,
      );
      await gh.settled();
    }, 600_000);

    afterAll(async () => {
      for (const s of Object.values(sides)) {
        await s.instance.stop().catch(() => {});
        await s.db.drop().catch(() => {});
      }
      await withAdmin(async (c) => {
        for (const role of roles) await c.query(`drop role if exists "${role}"`);
      }).catch(() => {});
      const r = createRedis(redisUrl(), { connectionName: 'scan-teardown' });
      for (const user of redisUsers) await r.call('ACL', 'DELUSER', user).catch(() => {});
      await r.quit();
      await removeTestResources(docker, run);
      await gh?.close();
      await tg?.close();
    });

    const allSecrets = (): string[] => {
      const fromConfigs = Object.values(sides).flatMap((s) => secretsOf(s.config));
      const named = [
        ...Object.values(SECRETS.tokens),
        ...Object.values(SECRETS.tokens).map((t) => t.split(':')[1]!),
        SECRETS.github,
        SECRETS.githubWebhook,
        ...Object.values(SECRETS.telegramWebhook),
        ...Object.values(SECRETS.db),
        ...Object.values(SECRETS.redis),
      ];
      return [...new Set([...fromConfigs, ...named])];
    };

    /** The places where each form of each secret was found: empty when nothing leaked. */
    function leaks(where: string, text: string): string[] {
      const found: string[] = [];
      for (const secret of allSecrets())
        for (const form of formsOf(secret))
          if (text.includes(form)) found.push(`${where}: ${form} (a form of ${secret.slice(0, 12)}…)`);
      return found;
    }

    it('the deploy really carried the secrets towards the chat (and they arrived redacted)', () => {
      expect(outcome.text).toMatch(/❌ Deploy #\d+ failed at migrate/);
      expect(outcome.text).toContain('[redacted]');
    });

    it('no secret in any form in the logs of either instance', () => {
      for (const [env, s] of Object.entries(sides))
        expect(leaks(`${env} log`, s.logs.join('\n'))).toEqual([]);
      expect(sides.production!.logs.join('\n')).toContain('[redacted]');
    });

    it('no secret in any form in the chat transcripts or any Bot API call', () => {
      for (const [env, token] of Object.entries(SECRETS.tokens)) {
        const transcript = tg
          .transcript(token, admin.id)
          .map((e) =>
            e.kind === 'bot_message' && e.document ? { ...e, file: e.document.content.toString('utf8') } : e,
          );
        expect(leaks(`${env} transcript`, JSON.stringify(transcript))).toEqual([]);
        // Params as Telegram received them (the webhook secret_token of setWebhook aside: none here).
        expect(leaks(`${env} Bot API calls`, JSON.stringify(tg.calls(token)))).toEqual([]);
      }
    });

    it('no secret in any form in Redis keys or values', async () => {
      const r = createRedis(redisUrl(), { connectionName: 'scan' });
      try {
        const found: string[] = [];
        for (const s of Object.values(sides)) {
          let cursor = '0';
          do {
            const [next, keys] = await r.scan(cursor, 'MATCH', `${s.config.redisPrefix}*`, 'COUNT', '500');
            cursor = next;
            for (const key of keys) {
              const type = await r.type(key);
              const value =
                type === 'string'
                  ? await r.get(key)
                  : type === 'hash'
                    ? await r.hgetall(key)
                    : type === 'list'
                      ? await r.lrange(key, 0, -1)
                      : type === 'set'
                        ? await r.smembers(key)
                        : type === 'zset'
                          ? await r.call('ZRANGE', key, '0', '-1', 'WITHSCORES')
                          : type === 'stream'
                            ? await r.xrange(key, '-', '+')
                            : null;
              found.push(...leaks(`redis ${key}`, `${key} ${JSON.stringify(value)}`));
            }
          } while (cursor !== '0');
        }
        expect(found).toEqual([]);
      } finally {
        await r.quit();
      }
    });

    it('no secret in any form in any Postgres table of either instance', async () => {
      const found: string[] = [];
      let tables = 0;
      for (const [env, s] of Object.entries(sides)) {
        const client = new pg.Client({ connectionString: s.db.url });
        await client.connect();
        try {
          const { rows } = await client.query<{ schema: string; name: string }>(
            `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
          );
          for (const t of rows) {
            tables++;
            const data = await client.query(
              `SELECT row_to_json(x)::text AS row FROM "${t.schema}"."${t.name}" x`,
            );
            found.push(...leaks(`${env} ${t.schema}.${t.name}`, data.rows.map((r) => r.row).join('\n')));
          }
        } finally {
          await client.end();
        }
      }
      expect(tables).toBeGreaterThan(5);
      expect(found).toEqual([]);
    });

    it('no secret in any form in what the GitHub stand-in stored: statuses, bodies, payloads, webhooks', () => {
      const stored = gh.storedText();
      expect(stored).toMatch(/"state":"(failure|error)"/);
      expect(leaks('GitHub stand-in', stored)).toEqual([]);
    });
  },
);
