// Deliveries out of order, on the real previews table: each request bumps the row's
// generation, and a job queued for an older one does nothing, whatever order the jobs run
// in. The queue here only records what was asked of it (the jobs are run by hand, in the
// order a test chooses); the Docker side refuses every call, so "does nothing" is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForgeUnavailableError, NotFoundError } from '../../../src/forge/errors.js';
import type { Forge, PullSummary } from '../../../src/forge/forge.js';
import type { PreviewRuntime } from '../../../src/previews/preview.js';
import type { PreviewJobData } from '../../../src/previews/preview-queue.js';
import { createPreviewService, type PreviewService } from '../../../src/previews/preview-service.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPreviewStore } from '../../../src/store/previews.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { ROOM } from '../../helpers/preview-world.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const untouchable = new Proxy({} as PreviewRuntime, {
  get: (_, method) => () => Promise.reject(new Error(`the runtime was asked to ${String(method)}`)),
});

const delivery = (
  action: string,
  pr: number,
  sha: string,
  baseRef = 'develop',
  extra: { state?: string; changes?: unknown } = {},
) => ({
  event: 'pull_request',
  payload: {
    action,
    number: pr,
    ...(extra.changes ? { changes: extra.changes } : {}),
    pull_request: {
      number: pr,
      state: extra.state ?? (action === 'closed' ? 'closed' : 'open'),
      user: { login: 'aoife' },
      head: { sha, ref: 'feature', repo: { id: 1 } },
      base: { ref: baseRef, repo: { id: 1 } },
    },
  },
});

describe('previews: deliveries and jobs out of order', () => {
  let db: TestDatabase;
  let pool: Pool;
  let service: PreviewService;
  const queued: PreviewJobData[] = [];
  const store = () => createPreviewStore(pool, 'ordering');

  beforeAll(async () => {
    db = await createTestDatabase('previews_ordering');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'preview-ordering-test');
    service = createPreviewService({
      settings: {
        max: 3,
        ttlMs: 3_600_000,
        port: 8080,
        memoryBytes: 2 ** 27,
        nanoCpus: 1e8,
        minFreeMemoryBytes: 1,
        minFreeDiskBytes: 1,
      },
      namespace: 'ordering',
      store: store(),
      runtime: untouchable,
      builder: { ensure: () => Promise.reject(new Error('the builder was asked')) },
      imageRepository: 'ordering',
      hostRoom: async () => ROOM,
      logger,
      redact: (t) => t,
      healthDeadlineMs: 1_000,
      migrateTimeoutMs: 1_000,
      queue: {
        add: async (data) => {
          queued.push(data);
        },
        close: async () => {},
      },
      base: 'develop',
    });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('a newer head supersedes a queued older one: the older job does nothing', async () => {
    await service.handleWebhook(delivery('opened', 5, 'a'.repeat(40)));
    await service.handleWebhook(delivery('synchronize', 5, 'b'.repeat(40)));
    expect(queued).toEqual([
      { kind: 'deploy', pr: 5, generation: 1 },
      { kind: 'deploy', pr: 5, generation: 2 },
    ]);
    expect(await service.handle(queued[0]!)).toBe('superseded');
    expect(await store().get(5)).toMatchObject({ state: 'queued', headSha: 'b'.repeat(40), generation: 2 });
  });

  it('the same head delivered again asks for nothing', async () => {
    await service.handleWebhook(delivery('synchronize', 5, 'b'.repeat(40)));
    await service.handleWebhook(delivery('opened', 5, 'b'.repeat(40)));
    expect(queued).toHaveLength(2);
  });

  it('closed before its deploy ran: the deploy does nothing, and a synchronize after closed asks for nothing', async () => {
    await service.handleWebhook(delivery('closed', 5, 'b'.repeat(40)));
    expect(queued.at(-1)).toEqual({ kind: 'close', pr: 5, generation: 3 });
    expect(await service.handle(queued[1]!)).toBe('superseded');
    await service.handleWebhook(delivery('synchronize', 5, 'c'.repeat(40)));
    expect(queued).toHaveLength(3);
    expect(await store().get(5)).toMatchObject({ state: 'closed', headSha: 'b'.repeat(40), generation: 3 });
  });

  it('a pull request into another base, and actions that change no code, ask for nothing', async () => {
    await service.handleWebhook(delivery('opened', 6, 'd'.repeat(40), 'main'));
    await service.handleWebhook(delivery('labeled', 7, 'e'.repeat(40)));
    expect(queued).toHaveLength(3);
    expect(await store().get(6)).toBeUndefined();
    expect(await store().get(7)).toBeUndefined();
  });

  it('an edit of a closed pull request, an opened after closed, or an edit leaving the base alone, ask for nothing', async () => {
    // #5 is closed (above): its title edited, and an `opened` delivered late.
    await service.handleWebhook(delivery('edited', 5, 'b'.repeat(40), 'develop', { state: 'closed' }));
    await service.handleWebhook(delivery('opened', 5, 'b'.repeat(40)));
    // #8 never had a preview and is closed; #9 is open and only its title changed.
    await service.handleWebhook(delivery('edited', 8, 'e'.repeat(40), 'develop', { state: 'closed' }));
    await service.handleWebhook(
      delivery('edited', 9, 'e'.repeat(40), 'develop', { changes: { title: { from: 'x' } } }),
    );
    expect(queued).toHaveLength(3);
    expect(await store().get(5)).toMatchObject({ state: 'closed', generation: 3 });
    expect(await store().get(8)).toBeUndefined();
    expect(await store().get(9)).toBeUndefined();
    // Retargeted onto develop: that edit asks for a preview.
    await service.handleWebhook(
      delivery('edited', 9, 'e'.repeat(40), 'develop', { changes: { base: { ref: { from: 'main' } } } }),
    );
    expect(queued.at(-1)).toEqual({ kind: 'deploy', pr: 9, generation: 1 });
  });

  it("a fork's head waiting for an admin is said on its pull request by the worker, not by the delivery", async () => {
    const fork = delivery('opened', 11, 'a'.repeat(40));
    (fork.payload.pull_request.head as { repo: { id: number } }).repo = { id: 2 };
    await service.handleWebhook(fork);
    const row = await store().get(11);
    expect(row).toMatchObject({ state: 'stopped', fork: true });
    expect(queued.at(-1)).toEqual({ kind: 'wait', pr: 11, generation: row!.generation });
    expect(await service.handle(queued.at(-1)!)).toBe('waiting');
  });

  it('a pull request reopened at the same head counts as a push: the TTL does not stop it at once', async () => {
    const head = { pr: 10, headSha: 'f'.repeat(40), headRef: 'feature', author: 'aoife', fork: false };
    const long = new Date(Date.UTC(2026, 0, 1));
    await store().request(head, 'queued', null, long);
    await store().bump(10, { state: 'closed', reason: 'pull request closed' });
    const reopened = new Date(Date.UTC(2026, 0, 9));
    const row = await store().request(head, 'queued', null, reopened);
    expect(row.lastPushAt).toEqual(reopened);
    // A redelivery of the same head on an open row still keeps its last push.
    const again = await store().request(head, 'queued', null, new Date(Date.UTC(2026, 0, 10)));
    expect(again.lastPushAt).toEqual(reopened);
  });
});

describe('previews: the poll and a forge that fails', () => {
  let db: TestDatabase;
  let pool: Pool;
  const queued: PreviewJobData[] = [];
  let answer: () => Promise<PullSummary> = () => Promise.reject(new Error('no answer set'));

  beforeAll(async () => {
    db = await createTestDatabase('previews_poll');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'preview-poll-test');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const serviceWith = (store: ReturnType<typeof createPreviewStore>) =>
    createPreviewService({
      settings: {
        max: 3,
        ttlMs: 3_600_000,
        port: 8080,
        memoryBytes: 2 ** 27,
        nanoCpus: 1e8,
        minFreeMemoryBytes: 1,
        minFreeDiskBytes: 1,
      },
      namespace: 'poll',
      store,
      // Nothing runs: the poll lists no container; any other call fails the test.
      runtime: new Proxy({} as PreviewRuntime, {
        get: (_, method) =>
          method === 'list'
            ? async () => []
            : () => Promise.reject(new Error(`the runtime was asked to ${String(method)}`)),
      }),
      forge: {
        listOpenPulls: async () => [],
        pullSummary: () => answer(),
      } as unknown as Forge,
      builder: { ensure: () => Promise.reject(new Error('the builder was asked')) },
      imageRepository: 'poll',
      hostRoom: async () => ROOM,
      logger,
      redact: (t) => t,
      healthDeadlineMs: 1_000,
      migrateTimeoutMs: 1_000,
      queue: {
        add: async (data) => {
          queued.push(data);
        },
        close: async () => {},
      },
      base: 'develop',
    });

  it('a pull request missing from the list whose own read fails (5xx, rate limit) is kept until the next poll', async () => {
    const store = createPreviewStore(pool, 'poll');
    const service = serviceWith(store);
    const head = { pr: 4, headSha: 'a'.repeat(40), headRef: 'feature', author: 'aoife', fork: false };
    await store.request(head, 'queued', null, new Date());
    await store.bump(4, { state: 'running' });
    answer = () => Promise.reject(new ForgeUnavailableError('GitHub answered 502'));
    await service.handle({ kind: 'reconcile' });
    expect(queued).toEqual([]);
    expect(await store.get(4)).toMatchObject({ state: 'running' });
    // Gone for certain (404) or read closed: closed then.
    answer = () => Promise.reject(new NotFoundError('no such pull request'));
    await service.handle({ kind: 'reconcile' });
    expect(queued).toEqual([{ kind: 'close', pr: 4, generation: expect.any(Number) }]);
    expect(await store.get(4)).toMatchObject({ state: 'closed' });
  });
});
