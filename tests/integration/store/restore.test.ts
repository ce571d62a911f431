// /restore's service on real Postgres and the real pg_dump/pg_restore: the current state is
// backed up first, the chosen backup replaces the database (rows written after it are gone,
// tables made after it too), the rows that were live in the backup are settled, and every
// refusal changes nothing.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase } from '../../../src/deployer/backup.js';
import { createRestoreControl, type RestoreControl } from '../../../src/deploys/restore-control.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import {
  createLockStore,
  deployLockName,
  deploymentOwner,
  type LockStore,
} from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRestoreStore } from '../../../src/store/restores.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, createTestRole, type TestDatabase } from '../../helpers/services.js';

const sha = (c: string) => c.repeat(40);
const admin = { id: 1, name: '@ada' };

describe('restoring production from a backup', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dir: string;
  let deployments: DeploymentStore;
  let locks: LockStore;
  let audit: ReturnType<typeof createAuditLog>;
  let control: RestoreControl;
  let publishes = 0;

  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'restore-test');
    dir = mkdtempSync(path.join(tmpdir(), 'lugh-restore-'));
    deployments = createDeploymentStore(pool);
    locks = createLockStore(pool, {
      onChange: async () => {
        publishes++;
      },
    });
    audit = createAuditLog(pool, 'production');
    control = createRestoreControl({
      env: 'production',
      databaseUrl: db.url,
      dir,
      keep: 5,
      deployments,
      locks,
      audit,
      restores: createRestoreStore(pool),
      clearTimeoutMs: 1_000,
    });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0].n);

  /** A deploy as the engine runs one: lock held, row running, its backup step recorded. */
  async function deployWithBackup(c: string, at: Date) {
    const d = await deployments.create({ env: 'production', ref: 'main', sha: sha(c), trigger: 'manual' });
    await locks.acquire({
      name: deployLockName('production'),
      owner: deploymentOwner(d.id),
      reason: 'deploy',
      ttlMs: 600_000,
    });
    await deployments.stepStarted(d.id, 'backup');
    const dump = await backupDatabase(
      { databaseUrl: db.url, dir, keep: 5 },
      { env: 'production', sha: sha(c), at },
    );
    await deployments.stepFinished(d.id, 'backup', 'succeeded', `${path.basename(dump.file)} (1 KiB)`);
    await deployments.finish(d.id, { status: 'succeeded', sha: sha(c) });
    await locks.release(deployLockName('production'), deploymentOwner(d.id));
    return { deployment: d, file: path.basename(dump.file) };
  }

  it('backs up the current state, restores the chosen backup, settles what was live in it, audits it, and frees the lock', async () => {
    const older = await deployWithBackup('a', new Date(Date.UTC(2026, 10, 20, 9, 0, 0)));
    const chosen = await deployWithBackup('b', new Date(Date.UTC(2026, 10, 21, 9, 0, 0)));
    // After the backup: a row, and a table a later migration made.
    await audit.record({ actorId: 9, action: 'written after the backup', outcome: 'ok' });
    await pool.query('CREATE TABLE made_later (id int)');
    await pool.query('ALTER TABLE deployments ADD COLUMN made_later text');

    const listed = await control.list();
    expect(listed.map((c) => [c.file, c.deploymentId, c.sha, c.kind])).toEqual([
      [chosen.file, chosen.deployment.id, sha('b'), 'deploy'],
      [older.file, older.deployment.id, sha('a'), 'deploy'],
    ]);

    const before = publishes;
    const result = await control.restore({
      token: listed[0]!.token,
      requester: admin,
      requestKey: 'chat:1:msg:1',
    });
    expect(result).toMatchObject({ outcome: 'restored', choice: { file: chosen.file } });
    if (result.outcome !== 'restored') throw new Error('not restored');

    // The row written after the backup is gone; so are the later table and column.
    expect(await count(`audit_log WHERE action = 'written after the backup'`)).toBe(0);
    expect(await count(`pg_tables WHERE schemaname = 'public' AND tablename = 'made_later'`)).toBe(0);
    expect(
      await count(
        `information_schema.columns WHERE table_name = 'deployments' AND column_name = 'made_later'`,
      ),
    ).toBe(0);
    // The backup shows its own deployment running and holding the lock: settled, so the
    // sweeper does not run it again and deploys are not refused.
    expect(result.ended).toEqual([chosen.deployment.id]);
    const settled = await deployments.get(chosen.deployment.id);
    expect(settled).toMatchObject({
      status: 'failed',
      error: expect.stringContaining(`restored from ${chosen.file}`),
    });
    expect(await deployments.unfinished('production')).toEqual([]);
    expect(await locks.held(deployLockName('production'))).toBeUndefined();
    expect(publishes).toBeGreaterThan(before);

    // The state before the restore was backed up first, and holds what the restore removed.
    expect(result.preRestore).toMatch(/^production-pre-restore-\d{8}T\d{6}Z-bbbbbbb\.dump$/);
    expect(readdirSync(dir)).toContain(result.preRestore);
    const scratch = await createTestDatabase('scratch');
    try {
      const { restoreDatabase } = await import('../../../src/deployer/backup.js');
      await restoreDatabase({ databaseUrl: scratch.url, file: path.join(dir, result.preRestore) });
      const check = createPool(scratch.url, 'restore-scratch');
      const { rows } = await check.query(
        `SELECT count(*) AS n FROM audit_log WHERE action = 'written after the backup'`,
      );
      await check.end();
      expect(Number(rows[0].n)).toBe(1);
    } finally {
      await scratch.drop();
    }

    // Recorded after the restore, so it survives it.
    const [entry] = (await audit.recent(5)).filter((a) => a.action === '/restore');
    expect(entry).toMatchObject({
      outcome: 'ok',
      actorId: admin.id,
      details: { file: chosen.file, preRestore: result.preRestore, deploymentId: chosen.deployment.id },
    });
    // The pre-restore backup is offered too, newest first.
    expect((await control.list())[0]).toMatchObject({ file: result.preRestore, kind: 'pre-restore' });

    // The same confirmation again restores nothing.
    expect(
      await control.restore({ token: listed[0]!.token, requester: admin, requestKey: 'chat:1:msg:1' }),
    ).toEqual({
      outcome: 'already',
    });
  });

  it('refuses while someone holds the lock or a deploy is live, and for a backup that is not there; nothing changes', async () => {
    const [choice] = await control.list();
    const files = readdirSync(dir).sort();
    await locks.acquire({
      name: deployLockName('production'),
      owner: 'user:2',
      reason: 'hands off',
      ttlMs: 60_000,
    });
    expect(await control.restore({ token: choice!.token, requester: admin, requestKey: 'k2' })).toMatchObject(
      {
        outcome: 'locked',
        lock: { owner: 'user:2' },
      },
    );
    await locks.release(deployLockName('production'), 'user:2');

    const live = await deployments.create({ env: 'production', ref: 'main', trigger: 'manual' });
    expect(await control.restore({ token: choice!.token, requester: admin, requestKey: 'k3' })).toEqual({
      outcome: 'deploying',
      deploymentId: live.id,
    });
    await deployments.finish(live.id, { status: 'failed', error: 'test' });
    // The lock it took to look is free again.
    expect(await locks.held(deployLockName('production'))).toBeUndefined();

    for (const token of ['20991231T000000Z-0000000', '../../etc/passwd', 'x'])
      expect(await control.restore({ token, requester: admin, requestKey: 'k4' })).toEqual({
        outcome: 'missing',
      });
    expect(readdirSync(dir).sort()).toEqual(files);
    const refusals = (await audit.recent(10)).filter(
      (a) => a.action === '/restore' && a.outcome === 'refused',
    );
    expect(refusals.map((a) => a.details?.reason)).toEqual([
      'a deploy is live',
      'locked',
      'already restored',
    ]);
  });

  it('a file that is no whole backup is refused before anything is touched', async () => {
    const broken = 'production-20261122T090000Z-ccccccc.dump';
    writeFileSync(path.join(dir, broken), 'PGDMP this is not a dump');
    await audit.record({ actorId: 9, action: 'still here after a refused restore', outcome: 'ok' });
    const files = readdirSync(dir).sort();
    const result = await control.restore({
      token: '20261122T090000Z-ccccccc',
      requester: admin,
      requestKey: 'k5',
    });
    expect(result).toMatchObject({ outcome: 'failed', stage: 'check' });
    expect(result.outcome === 'failed' && result.message).toMatch(
      /^production-20261122T090000Z-ccccccc\.dump cannot be read as a backup \(pg_restore --list exited with 1\); nothing was changed$/,
    );
    // No pre-restore backup was needed: nothing was touched.
    expect(readdirSync(dir).sort()).toEqual(files);
    expect(await count(`audit_log WHERE action = 'still here after a refused restore'`)).toBe(1);
    expect(await locks.held(deployLockName('production'))).toBeUndefined();
    rmSync(path.join(dir, broken));
  });

  it('a restore pg_restore fails half-way (a grant to a role gone since) puts the state before back from the backup just taken', async () => {
    const role = await createTestRole('gone');
    await pool.query(`CREATE TABLE granted (id int)`);
    await pool.query(`GRANT SELECT ON granted TO ${role.name}`);
    const dump = await backupDatabase(
      { databaseUrl: db.url, dir, keep: 5 },
      { env: 'production', sha: sha('d'), at: new Date(Date.UTC(2026, 10, 23, 9, 0, 0)) },
    );
    await pool.query(`REVOKE ALL ON granted FROM ${role.name}`);
    await role.drop();
    await audit.record({ actorId: 9, action: 'still here after a failed restore', outcome: 'ok' });
    const token = path
      .basename(dump.file)
      .replace(/^production-/, '')
      .replace(/\.dump$/, '');
    const result = await control.restore({ token, requester: admin, requestKey: 'k6' });
    expect(result).toMatchObject({ outcome: 'failed', stage: 'restore', putBack: true });
    expect(result.outcome === 'failed' && result.message).toMatch(
      /^the restore failed \(pg_restore exited with 1\)/,
    );
    expect(result.outcome === 'failed' && result.logTail.join('\n')).toContain('does not exist');
    expect(await count(`audit_log WHERE action = 'still here after a failed restore'`)).toBe(1);
    expect(await locks.held(deployLockName('production'))).toBeUndefined();
    const [entry] = (await audit.recent(5)).filter((a) => a.action === '/restore');
    expect(entry).toMatchObject({ outcome: 'failed', details: { stage: 'restore', putBack: true } });
  });

  it('a table another session holds makes the restore give up before anything is dropped', async () => {
    const holder = createPool(db.url, 'restore-holder');
    const client = await holder.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE audit_log IN ACCESS SHARE MODE');
      await audit.record({ actorId: 9, action: 'still here after a cleared-not restore', outcome: 'ok' });
      const [choice] = (await control.list()).filter((c) => c.kind === 'deploy');
      const result = await control.restore({ token: choice!.token, requester: admin, requestKey: 'k7' });
      expect(result).toMatchObject({ outcome: 'failed', stage: 'clear' });
      expect(result.outcome === 'failed' && result.message).toMatch(
        /^could not clear the database for the restore \(.*lock timeout.*\); nothing was changed$/,
      );
    } finally {
      await client.query('ROLLBACK');
      client.release();
      await holder.end();
    }
    expect(await count(`audit_log WHERE action = 'still here after a cleared-not restore'`)).toBe(1);
    expect(await locks.held(deployLockName('production'))).toBeUndefined();
  });
});
