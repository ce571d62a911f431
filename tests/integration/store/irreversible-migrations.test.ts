// A deploy learns which migrations it applied, and which cannot be undone, from the
// image's migrate command (`lugh migrate` prints a lugh.migrations line), and records them
// on the deployment for /rollback. Real Postgres, the real CLI, the real migrate step.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStep } from '../../../src/deployer/steps/migrate.js';
import type { StepContext } from '../../../src/deployer/steps/step.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { MIGRATIONS_DIR, runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { FAKE_TOKEN, runLugh } from '../../helpers/lugh-process.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const sha = (c: string) => c.repeat(40);

describe('irreversible migrations, from the migrate command to the deployment record', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    // The database as the release before the column drop left it: 0001–0004.
    const early = mkdtempSync(path.join(tmpdir(), 'lugh-early-migrations-'));
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f < '0005')) {
      cpSync(path.join(MIGRATIONS_DIR, f), path.join(early, f));
    }
    await runMigrations({ databaseUrl: db.url, logger, dir: early });
    rmSync(early, { recursive: true, force: true });
    pool = createPool(db.url, 'irreversible-test');
    deployments = createDeploymentStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const migrateWith = (env: Record<string, string>) =>
    runLugh(['migrate'], {
      APP_ENV: 'production',
      TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl(),
      ADMIN_IDS: '1',
      LOG_LEVEL: 'info',
      ...env,
    });

  /** The migrate step of deployment `id`, its container's output being `lines`. */
  const stepWith = (id: number, lines: string[]) =>
    deployments.get(id).then((deployment) =>
      migrateStep.run({
        deployment: deployment!,
        env: 'production',
        containerName: 'lugh-prod-app',
        sha: deployment!.sha!,
        image: 'lugh:test',
        deployments,
        log: logger,
        settings: { migrateTimeoutMs: 1000 },
        runtime: {
          runMigration: async () => ({
            command: ['node', 'dist/cli.js', 'migrate'],
            logTail: lines.slice(-20),
          }),
        },
      } as unknown as StepContext),
    );

  it('lugh migrate reports what it applied, the column drop as irreversible; the step records it; /rollback’s query finds it', async () => {
    // Written as the release before wrote it: the store of this release writes columns of
    // later migrations (0013's requested_by_name), which a database at 0004 does not have.
    const {
      rows: [inserted],
    } = await pool.query(
      `INSERT INTO deployments (env, ref, sha, trigger) VALUES ('production', 'main', $1, 'manual') RETURNING id`,
      [sha('a')],
    );
    const release = { id: Number(inserted.id) };
    await deployments.finish(release.id, { status: 'succeeded', sha: sha('a') });
    // Before 0009 (e.g. right after a restore to an older backup) nothing is recorded: nothing to warn of, no error.
    expect(await deployments.irreversibleSince('production', 0)).toEqual([]);
    expect(await deployments.migrationsOf(release.id)).toEqual([]);
    const first = await migrateWith({});
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.split('\n').filter(Boolean);
    expect(lines.at(-1)).toMatch(/^lugh\.migrations \{"applied":\["0005_deployments_without_promotion",/);

    const deploy = await deployments.create({
      env: 'production',
      ref: 'main',
      sha: sha('b'),
      trigger: 'manual',
    });
    const result = await stepWith(deploy.id, lines);
    expect(result.status).toBe('succeeded');
    expect(result.detail).toMatch(
      /^node dist\/cli\.js migrate · applied 0005_deployments_without_promotion, .*0009_deployment_migrations(, \d{4}_\w+)*; irreversible: 0005_deployments_without_promotion$/,
    );
    const recorded = await deployments.migrationsOf(deploy.id);
    expect(recorded.map((m) => m.name)).toEqual(
      readdirSync(MIGRATIONS_DIR)
        .filter((f) => f >= '0005' && f.endsWith('.sql'))
        .map((f) => f.replace(/\.sql$/, ''))
        .sort(),
    );
    expect(recorded.filter((m) => m.irreversible).map((m) => m.name)).toEqual([
      '0005_deployments_without_promotion',
    ]);

    // Rolling back to the release before it passes the drop; to the deploy itself, nothing.
    expect(await deployments.irreversibleSince('production', release.id)).toEqual([
      {
        name: '0005_deployments_without_promotion',
        why: expect.stringContaining('promotion_id'),
        deploymentId: deploy.id,
        sha: sha('b'),
      },
    ]);
    expect(await deployments.irreversibleSince('production', deploy.id)).toEqual([]);
    // The other environment's history is not this one's.
    expect(await deployments.irreversibleSince('staging', 0)).toEqual([]);

    // A resumed run records again without duplicates.
    await stepWith(deploy.id, lines);
    expect(await deployments.migrationsOf(deploy.id)).toHaveLength(recorded.length);
  });

  it('a second migrate applies nothing and says so; an image that prints no report is recorded as unknown, not as reversible', async () => {
    const again = await migrateWith({});
    expect(again.code, again.stderr).toBe(0);
    const deploy = await deployments.create({
      env: 'production',
      ref: 'main',
      sha: sha('c'),
      trigger: 'manual',
    });
    const upToDate = await stepWith(deploy.id, again.stdout.split('\n').filter(Boolean));
    expect(upToDate.detail).toBe('node dist/cli.js migrate · the database was up to date');

    const silent = await stepWith(deploy.id, ['migrated ok']);
    expect(silent.detail).toContain('it did not report what it applied (no lugh.migrations line)');
    const garbled = await stepWith(deploy.id, ['lugh.migrations {nope']);
    expect(garbled.status).toBe('succeeded');
    expect(garbled.detail).toContain('what it applied is unknown');
    expect(await deployments.migrationsOf(deploy.id)).toEqual([]);
  });
});
