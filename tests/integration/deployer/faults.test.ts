// Faults the deploy engine must turn into a clear message with nothing half-done.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDockerError } from '../../../src/deployer/errors.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { ADMIN_ID, instanceEnv } from '../../helpers/instance-env.js';
import { silentLogger } from '../../helpers/logger.js';
import { runLugh } from '../../helpers/lugh-process.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { openChat } from '../../helpers/telegram.js';

const TOKEN = '7005001:AADeployFaultsStagingToken_abcdefghi';

describe('deploy faults', () => {
  let tg: TelegramStandIn;
  let db: TestDatabase;
  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    openChat(tg, TOKEN, { id: ADMIN_ID, first_name: 'Ada' });
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger: silentLogger });
  });
  afterAll(async () => {
    await tg?.close();
    await db?.drop();
  });

  it('a Docker engine that does not answer: the deploy fails at once, saying so; the lock is released', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('staging', 'develop', 'manual', $1) RETURNING id`,
        [ADMIN_ID],
      );
      const id = Number(rows[0].id);
      const env = instanceEnv({
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKEN,
        extra: { LOG_LEVEL: 'warn' },
      });
      const result = await runLugh(['deploy-run', String(id)], {
        ...env,
        DOCKER_HOST: 'unix:///nonexistent/lugh-test-docker.sock',
      });
      expect(result.code, result.stderr).toBe(0);
      const d = (await client.query('SELECT status, step, error FROM deployments WHERE id = $1', [id]))
        .rows[0];
      expect(d).toEqual({
        status: 'failed',
        step: 'resolve',
        error: 'the Docker engine is unreachable (ENOENT): is dockerd running, and is its socket mounted?',
      });
      expect((await client.query('SELECT count(*)::int AS n FROM locks')).rows[0].n).toBe(0);
      const final = tg
        .transcript(TOKEN, ADMIN_ID)
        .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes(`Deploy #${id} failed`));
      // The result, then its step timeline: the one step it got to, failed.
      expect(final.map((e) => (e.kind === 'bot_message' ? (e.text ?? '').split('\n') : []))).toEqual([
        [
          `🧪 STAGING · ❌ Deploy #${id} failed at resolve: the Docker engine is unreachable (ENOENT): is dockerd running, and is its socket mounted?`,
          expect.stringMatching(/^resolve .* ❌$/),
        ],
      ]);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('the engine’s own errors: a full disk says what to free; anything else is Docker’s message', () => {
    // The shape dockerode gives a failed API call: the engine's JSON body under `json`.
    const full = Object.assign(new Error('(HTTP code 500) server error'), {
      statusCode: 500,
      json: { message: 'write /var/lib/docker/tmp/x: no space left on device' },
    });
    expect(describeDockerError(full)).toBe(
      'the Docker host is out of disk space (write /var/lib/docker/tmp/x: no space left on device): free space (old images, volumes) and deploy again',
    );
    expect(describeDockerError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toContain(
      'the Docker engine is unreachable (ECONNREFUSED)',
    );
    expect(
      describeDockerError(
        Object.assign(new Error('(HTTP code 409) conflict'), { json: { message: 'name in use' } }),
      ),
    ).toBe('name in use');
  });
});
