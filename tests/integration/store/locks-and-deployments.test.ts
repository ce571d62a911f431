import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { backupDatabase } from '../../../src/deployer/backup.js';
import { BackupFailedError } from '../../../src/deployer/errors.js';
import { signHandoff } from '../../../src/deployer/handoff-signature.js';
import { createDeployIntake } from '../../../src/deployer/intake.js';
import { createRedactor } from '../../../src/redact.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('deploy locks, deployments, backups and the intake, on real Postgres', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'locks-test');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('a lock: one of many racing takers wins; its owner renews it; others see who holds it; expiry frees it', async () => {
    let changes = 0;
    const locks = createLockStore(pool, {
      onChange: async () => {
        changes++;
      },
    });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        locks.acquire({
          name: 'deploy:race',
          owner: `deployment:${i}`,
          reason: `deploy #${i}`,
          ttlMs: 60_000,
        }),
      ),
    );
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.acquired ? winners[0]!.lock.owner : '';
    for (const r of results) if (!r.acquired) expect(r.holder.owner).toBe(winner);

    const renewed = await locks.acquire({
      name: 'deploy:race',
      owner: winner,
      reason: 'still',
      ttlMs: 120_000,
    });
    expect(renewed.acquired && renewed.lock.reason).toBe('still');
    const beforeRelease = changes;
    expect(await locks.release('deploy:race', 'deployment:not-the-owner')).toBe(false);
    expect(changes).toBe(beforeRelease);
    expect(await locks.held('deploy:race')).toMatchObject({ owner: winner });
    expect(await locks.release('deploy:race', winner)).toBe(true);
    // Released is a change too: the published lock must follow (staging's /promote reads it).
    expect(changes).toBe(beforeRelease + 1);
    expect(await locks.held('deploy:race')).toBeUndefined();

    await locks.acquire({ name: 'deploy:short', owner: 'user:1', reason: 'brief', ttlMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await locks.held('deploy:short')).toBeUndefined();
    const taken = await locks.acquire({
      name: 'deploy:short',
      owner: 'user:2',
      reason: 'mine now',
      ttlMs: 60_000,
    });
    expect(taken.acquired).toBe(true);
    const seen = await locks.held('deploy:short');
    expect(seen).toMatchObject({ owner: 'user:2', reason: 'mine now' });
    expect(await locks.breakLock(seen!)).toBe(true);
    expect(await locks.held('deploy:short')).toBeUndefined();
    expect(changes).toBeGreaterThanOrEqual(5);
  });

  it('a rollback is created once per request key, and once at a time per release', async () => {
    const deployments = createDeploymentStore(pool);
    const input = { env: 'production' as const, sha: 'c'.repeat(40), requestedBy: 1 };
    const raced = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        deployments.createRollback({ ...input, requestKey: i % 2 ? 'rollback:1:10' : 'rollback:2:20' }),
      ),
    );
    const created = raced.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const id = created[0]!.deployment.id;
    for (const r of raced) expect(r.deployment.id).toBe(id);
    // Ended: its own key still answers with it; another request may roll back again.
    await deployments.finish(id, { status: 'succeeded', sha: input.sha });
    const winnerKey = raced.indexOf(created[0]!) % 2 ? 'rollback:1:10' : 'rollback:2:20';
    const repeat = await deployments.createRollback({ ...input, requestKey: winnerKey });
    expect(repeat).toMatchObject({ created: false, deployment: { id, status: 'succeeded' } });
    const fresh = await deployments.createRollback({ ...input, requestKey: 'rollback:3:30' });
    expect(fresh.created).toBe(true);
    expect(fresh.deployment).toMatchObject({ trigger: 'rollback', status: 'queued', sha: input.sha });
    await deployments.finish(fresh.deployment.id, { status: 'failed', error: 'test' });
  });

  it('records a deploy’s error and step details through the redactor: a secret a container printed is not stored', async () => {
    const secret = 'pg-pass-ZX81-leaky';
    const deployments = createDeploymentStore(pool, { redact: createRedactor([secret]) });
    const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual', requestedBy: 1 });
    await deployments.stepStarted(d.id, 'migrate');
    await deployments.stepFinished(d.id, 'migrate', 'failed', `could not connect as lugh:${secret}@db`);
    await deployments.finish(d.id, {
      status: 'failed',
      error: `migrate: password ${encodeURIComponent(secret)}`,
    });
    const { rows } = await pool.query(
      `SELECT d.error, s.detail FROM deployments d JOIN deployment_steps s ON s.deployment_id = d.id WHERE d.id = $1`,
      [d.id],
    );
    expect(JSON.stringify(rows)).not.toContain('ZX81');
    expect(rows[0].detail).toContain('could not connect as lugh:');
  });

  it('/unlock removes exactly the lock it saw: a deployment’s lock taken in between stays', async () => {
    const locks = createLockStore(pool);
    const name = 'deploy:unlock-race';
    await locks.acquire({ name, owner: 'Ada (1)', reason: 'maintenance', ttlMs: 60_000 });
    const seen = await locks.held(name);
    expect(seen?.owner).toBe('Ada (1)');
    // Between the check and the delete: the person's lock goes, a deployment takes it.
    expect(await locks.release(name, 'Ada (1)')).toBe(true);
    const taken = await locks.acquire({ name, owner: 'deployment:77', reason: 'deploy #77', ttlMs: 60_000 });
    expect(taken.acquired).toBe(true);
    expect(await locks.breakLock(seen!)).toBe(false);
    expect(await locks.held(name)).toMatchObject({ owner: 'deployment:77' });
    // The same owner taking it again is another lock too (acquired later).
    await locks.release(name, 'deployment:77');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await locks.acquire({ name, owner: 'Ada (1)', reason: 'again', ttlMs: 60_000 });
    expect(await locks.breakLock(seen!)).toBe(false);
    expect(await locks.held(name)).toMatchObject({ owner: 'Ada (1)', reason: 'again' });
    // Renewed by its holder, it is still the lock that was seen.
    const again = await locks.held(name);
    await locks.acquire({ name, owner: 'Ada (1)', reason: 'renewed', ttlMs: 120_000 });
    expect(await locks.breakLock(again!)).toBe(true);
    expect(await locks.held(name)).toBeUndefined();
  });

  it('a production deploy waits for its requester: only they confirm, only once, only in time', async () => {
    const deployments = createDeploymentStore(pool);
    const d = await deployments.create({
      env: 'production',
      ref: 'main',
      trigger: 'manual',
      requestedBy: 1,
      confirmMs: 60_000,
    });
    expect(d.status).toBe('awaiting_confirmation');
    expect(await deployments.answerConfirmation(d.id, 2, 'confirm')).toBe('not_yours');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => deployments.answerConfirmation(d.id, 1, 'confirm')),
    );
    expect(answers.filter((a) => a === 'ok')).toHaveLength(1);
    expect(answers.filter((a) => a === 'answered')).toHaveLength(4);
    expect((await deployments.get(d.id))?.status).toBe('queued');

    const late = await deployments.create({
      env: 'production',
      ref: 'main',
      trigger: 'manual',
      requestedBy: 1,
      confirmMs: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await deployments.answerConfirmation(late.id, 1, 'confirm')).toBe('expired');
    expect(await deployments.get(late.id)).toMatchObject({
      status: 'cancelled',
      error: 'not confirmed in time',
    });
    expect(await deployments.answerConfirmation(999_999, 1, 'confirm')).toBe('missing');

    // Exactly one final message per deployment, however many finishers.
    const claims = await Promise.all(Array.from({ length: 5 }, () => deployments.claimFinalMessage(d.id)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('a poll that raced the claim of the same GitHub Deployment neither refuses nor queues it again', async () => {
    const deployments = createDeploymentStore(pool);
    const keys = generatePromoteKeys();
    const now = new Date();
    const claims = {
      sha: 'f'.repeat(40),
      environment: 'production',
      promotionId: 77,
      approvers: [1001],
      chatId: -55,
      approvedAt: now.toISOString(),
    };
    const genuine = {
      id: 777,
      sha: claims.sha,
      ref: claims.sha,
      environment: 'production',
      createdAt: now,
      payload: { lugh: signHandoff(claims, keys.signingKey) },
    };
    const queued: number[] = [];
    const statuses: string[] = [];
    const intakeWith = (store: typeof deployments) =>
      createDeployIntake({
        env: 'production',
        logger,
        deployments: store,
        source: {
          listDeployments: async () => [genuine],
          setDeploymentStatus: async (id, state) => {
            statuses.push(`${id} ${state}`);
          },
          isAncestor: async () => true,
        },
        enqueue: async (id) => {
          queued.push(id);
          return `deployment-${id}`;
        },
        handoff: { verifyKey: keys.verifyKey, adminIds: [1001], chatIds: [-55], branch: 'main' },
      });
    expect(await intakeWith(deployments).poll()).toHaveLength(1);
    // The racer looked before the claim landed: to it, this Deployment is not seen yet.
    const racer = intakeWith({ ...deployments, handoffSeen: async () => false });
    expect(await racer.poll()).toEqual([]);
    expect(queued).toHaveLength(1);
    expect(statuses).toEqual(['777 queued']);
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n FROM refused_handoffs WHERE github_deployment_id = 777',
    );
    expect(rows[0].n).toBe(0);
  });

  it('the intake claims lugh’s recent GitHub Deployments of its environment once, and queues pushes to its branch', async () => {
    const deployments = createDeploymentStore(pool);
    const queued: number[] = [];
    const statuses: string[] = [];
    const now = new Date();
    // A genuine handoff: signed by staging's key over its commit, approved by an admin.
    const keys = generatePromoteKeys();
    const signed = signHandoff(
      {
        sha: 'a'.repeat(40),
        environment: 'production',
        promotionId: 3,
        approvers: [1001],
        chatId: -55,
        approvedAt: now.toISOString(),
      },
      keys.signingKey,
    );
    const listed = [
      {
        id: 501,
        sha: 'a'.repeat(40),
        ref: 'a'.repeat(40),
        environment: 'production',
        createdAt: now,
        payload: { lugh: signed },
      },
      // Not lugh's, another environment's, or too old: left alone.
      { id: 502, sha: 'b'.repeat(40), ref: 'main', environment: 'production', createdAt: now, payload: {} },
      {
        id: 503,
        sha: 'c'.repeat(40),
        ref: 'main',
        environment: 'staging',
        createdAt: now,
        payload: { lugh: {} },
      },
      {
        id: 504,
        sha: 'd'.repeat(40),
        ref: 'main',
        environment: 'production',
        createdAt: new Date(now.getTime() - 2 * 86_400_000),
        payload: { lugh: {} },
      },
    ];
    const intake = createDeployIntake({
      env: 'production',
      logger,
      deployments,
      source: {
        listDeployments: async () => listed,
        setDeploymentStatus: async (id, state) => {
          statuses.push(`${id} ${state}`);
        },
        isAncestor: async (sha, branch) => sha === 'a'.repeat(40) && branch === 'main',
      },
      enqueue: async (id) => {
        queued.push(id);
        return `deployment-${id}`;
      },
      handoff: { verifyKey: keys.verifyKey, adminIds: [1001], chatIds: [-55], branch: 'main' },
      pushBranch: 'main',
    });
    const first = await Promise.all([intake.poll(), intake.poll(), intake.poll()]);
    expect(first.flat()).toHaveLength(1);
    const again = await intake.handleWebhook('deployment', {
      deployment: {
        id: 501,
        sha: 'a'.repeat(40),
        ref: 'x',
        environment: 'production',
        created_at: now.toISOString(),
        payload: { lugh: {} },
      },
    });
    expect(again).toBeUndefined();
    expect(queued).toHaveLength(1);
    expect(statuses).toEqual(['501 queued']);
    expect(await deployments.get(queued[0]!)).toMatchObject({
      env: 'production',
      trigger: 'promotion',
      sha: 'a'.repeat(40),
      requestedBy: 1001,
      chatId: -55,
      githubDeploymentId: 501,
      jobId: `deployment-${queued[0]}`,
    });

    const pushed = await intake.handleWebhook('push', { ref: 'refs/heads/main', after: 'e'.repeat(40) });
    expect(await deployments.get(pushed!)).toMatchObject({
      trigger: 'push',
      ref: 'main',
      sha: 'e'.repeat(40),
    });
    expect(
      await intake.handleWebhook('push', { ref: 'refs/heads/develop', after: 'f'.repeat(40) }),
    ).toBeUndefined();
    expect(
      await intake.handleWebhook('push', { ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true }),
    ).toBeUndefined();
  });

  it('a backup is a whole pg_dump file; the newest N are kept; a failure leaves no partial file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-backups-'));
    writeFileSync(path.join(dir, 'unrelated.txt'), 'kept');
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { file, bytes } = await backupDatabase(
        { databaseUrl: db.url, dir, keep: 2 },
        { env: 'production', sha: `${i}`.repeat(40), at: new Date(Date.UTC(2026, 10, 23, 10, i)) },
      );
      expect(bytes).toBeGreaterThan(0);
      made.push(path.basename(file));
    }
    expect(readdirSync(dir).sort()).toEqual([...made.slice(2), 'unrelated.txt'].sort());
    // A custom-format dump starts with PGDMP.
    expect(readFileSync(path.join(dir, made[3]!)).subarray(0, 5).toString()).toBe('PGDMP');

    const wrong = new URL(db.url);
    wrong.password = 'not-the-password';
    const error = await backupDatabase(
      { databaseUrl: wrong.toString(), dir, keep: 2 },
      { env: 'production', sha: 'f'.repeat(40) },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(BackupFailedError);
    expect((error as BackupFailedError).message).toMatch(
      /^the backup failed \(pg_dump exited with 1\); nothing was changed$/,
    );
    expect((error as BackupFailedError).logTail.join('\n')).toContain('password authentication failed');
    expect((error as BackupFailedError).logTail.join('\n')).not.toContain('not-the-password');
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(3);
  });
});
