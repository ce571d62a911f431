// A deploy whose Docker engine stops answering in its switch (dockerd restarting, the app
// maybe stopped) is not finished as failed: the step runner rejects with
// EngineUnreachableError, keeping the row running and the lock held, and undoes nothing
// (the runner container exits; Docker starts it again). Run again once the engine answers,
// it converges and finishes the deploy, once. Before the switch nothing of the app was
// touched: the deploy fails at once, saying so.
// The engine is a dockerode pointed at a socket path where nothing listens at first, then
// a server that answers Docker's /_ping; Postgres is real.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { EngineUnreachableError, isEngineUnreachable } from '../../../src/deployer/errors.js';
import type { ImageBuilder } from '../../../src/deployer/image-builder.js';
import type { Runtime } from '../../../src/deployer/runtime/runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import { type Step, succeeded } from '../../../src/deployer/steps/step.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const SHA = 'b'.repeat(40);

describe('a deploy meeting an unreachable Docker engine (real Postgres, a socket that refuses then answers)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dir: string;
  let socket: string;
  let engine: Server | undefined;
  const finals: Array<{ id: number; status: string }> = [];
  const converged: number[] = [];

  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async (id, _env, outcome) => {
      finals.push({ id, status: outcome.status });
    },
  };

  /** The engine answers again: Docker's ping, on the same socket path. */
  const engineUp = () =>
    new Promise<void>((resolve) => {
      engine = createServer((_req, res) => res.end('OK'));
      engine.listen(socket, resolve);
    });
  const engineDown = () =>
    new Promise<void>((resolve) => {
      if (!engine) return resolve();
      engine.closeAllConnections();
      engine.close(() => resolve());
      engine = undefined;
    });

  /**
   * resolve, then a switch that pings the engine (with `undo`: fails, and its undo pings
   * it; with `early`: resolve pings it first).
   */
  const stepsOf = (docker: Docker, undo: boolean, early: boolean): Step[] => [
    {
      name: 'resolve',
      async run(ctx) {
        if (early) await docker.ping();
        ctx.sha = SHA;
        return succeeded(SHA);
      },
      restore: (ctx, detail) => {
        ctx.sha = detail ?? undefined;
        return detail === SHA;
      },
    },
    {
      name: 'switch',
      async run(ctx) {
        if (undo) {
          ctx.undo = async () => {
            await docker.ping();
            return 'put back';
          };
          throw new Error('the new version did not become healthy');
        }
        await docker.ping();
        return succeeded();
      },
    },
    {
      name: 'record',
      async run(ctx) {
        await ctx.deployments.finish(ctx.deployment.id, { status: 'succeeded', sha: ctx.sha });
        return succeeded();
      },
    },
  ];

  const runnerOf = ({ undo = false, early = false } = {}) =>
    createStepRunner({
      env: 'staging',
      logger,
      deployments: createDeploymentStore(pool),
      locks: createLockStore(pool),
      source: {
        branchSha: async () => SHA,
        commitTree: () => Promise.reject(new Error('no tree')),
        tarball: () => Promise.reject(new Error('no tarball')),
        serviceFile: async () => undefined,
      },
      builder: {} as ImageBuilder,
      runtime: {
        converge: async () => {
          converged.push(Date.now());
          return undefined;
        },
      } as unknown as Runtime,
      notifier,
      containerName: () => 'lugh-test-unreachable-app',
      backup: 'not backed up',
      steps: stepsOf(new Docker({ socketPath: socket }), undo, early),
    });

  const newDeployment = async () => {
    const { rows } = await pool.query(
      `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('staging', 'develop', 'manual', 1) RETURNING id`,
    );
    return Number(rows[0].id);
  };
  const statusOf = async (id: number) =>
    (await pool.query('SELECT status FROM deployments WHERE id = $1', [id])).rows[0].status;
  const lockHolder = async () =>
    (await pool.query(`SELECT owner FROM locks WHERE expires_at > now()`)).rows.map((r) => r.owner);

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'unreachable-test');
    dir = mkdtempSync(path.join(tmpdir(), 'lugh-unreachable-'));
    socket = path.join(dir, 'docker.sock');
  });

  afterAll(async () => {
    await engineDown();
    await pool?.end();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('knows the errors of an engine that is gone, refuses, or drops the call, and no others', async () => {
    const docker = new Docker({ socketPath: socket });
    const missing = await docker.ping().catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'ENOENT', syscall: 'connect' });
    // A server that takes the call and drops it, as a dockerd killed in the middle does.
    const dropping = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(socket, resolve));
    const dropped = await docker.ping().catch((e: unknown) => e);
    await new Promise<void>((resolve) => dropping.close(() => resolve()));
    for (const error of [missing, dropped]) expect(isEngineUnreachable(error)).toBe(true);
    expect(
      isEngineUnreachable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(
      isEngineUnreachable(Object.assign(new Error('no such file'), { code: 'ENOENT', syscall: 'open' })),
    ).toBe(false);
    expect(
      isEngineUnreachable(Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404 })),
    ).toBe(false);
  });

  it('in the switch: the row stays running, the lock held, nothing announced; run again once the engine answers, it converges and finishes once', async () => {
    const id = await newDeployment();
    const error = await runnerOf()
      .run(id)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(await statusOf(id)).toBe('running');
    expect(await lockHolder()).toEqual([`deployment:${id}`]);
    expect(finals.filter((f) => f.id === id)).toEqual([]);

    await engineUp();
    const before = converged.length;
    expect(await runnerOf().run(id)).toBe('succeeded');
    expect(converged.length).toBe(before + 1);
    expect(await statusOf(id)).toBe('succeeded');
    expect(await lockHolder()).toEqual([]);
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
    await engineDown();
  });

  it('in the undo of a failed step: not finished as failed with the app maybe down; run again, it converges and finishes', async () => {
    const id = await newDeployment();
    const error = await runnerOf({ undo: true })
      .run(id)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(await statusOf(id)).toBe('running');
    expect(await lockHolder()).toEqual([`deployment:${id}`]);
    expect(finals.filter((f) => f.id === id)).toEqual([]);

    await engineUp();
    expect(await runnerOf().run(id)).toBe('succeeded');
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
    expect(await lockHolder()).toEqual([]);
    await engineDown();
  });

  it('before the switch (the app untouched): the deploy fails at once, saying the engine is unreachable, and frees the lock', async () => {
    const id = await newDeployment();
    expect(await runnerOf({ early: true }).run(id)).toBe('failed');
    const row = (await pool.query('SELECT status, step, error FROM deployments WHERE id = $1', [id])).rows[0];
    expect(row).toMatchObject({ status: 'failed', step: 'resolve' });
    expect(row.error).toContain('the Docker engine is unreachable (ENOENT)');
    expect(await lockHolder()).toEqual([]);
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'failed' }]);
  });
});
