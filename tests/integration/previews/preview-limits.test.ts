// What a preview is kept from, on the real engine, Postgres, Redis and Caddy with the
// GitHub stand-in: a fork's head is not built until an admin starts it; a sick head fails
// without touching another running preview; the cap stops the preview idle longest (saying
// so on its pull request); the TTL stops an idle one (its database kept); a host short of
// memory starts none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewNames } from '../../../src/previews/preview.js';
import { FORK_WAITS } from '../../../src/previews/preview-plan.js';
import { caddyInstalled } from '../../helpers/caddy.js';
import { dockerAvailable, waitFor } from '../../helpers/docker.js';
import { type PreviewWorld, ROOM, serverJs, startPreviewWorld } from '../../helpers/preview-world.js';

const ready = caddyInstalled() && (await dockerAvailable());
const admin = { userId: 1, name: 'Aoife' };

describe.skipIf(!ready)('what previews are kept from', () => {
  let world: PreviewWorld;
  let a: number;
  let b: number;
  let c: number;

  beforeAll(async () => {
    world = await startPreviewWorld({ max: 2, ttlMs: 3_600_000 });
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it("a fork's pull request waits for an admin, and is built when one starts it", async () => {
    // Its opened delivery arrives as from GitHub: its head repository is the fork.
    const opened = await world.gh.openForkPull({
      fork: 'stranger/app-fork',
      headRef: 'from-fork',
      files: { 'server.js': serverJs('fork') },
    });
    a = opened.number;
    const waiting = await world.until(a, (r) => r.state === 'stopped');
    expect(waiting).toMatchObject({ fork: true, reason: FORK_WAITS });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await world.containers(a)).toHaveLength(0);
    expect((await world.comments(a))[0]?.body).toContain('An admin can start its preview from chat');

    // A fork's head starts only as the commit the admin was shown: first the question.
    expect(await world.service.start(a, admin)).toMatchObject({
      kind: 'confirm',
      pr: a,
      head: { headSha: opened.headSha, fork: true },
    });
    expect((await world.row(a))?.state).toBe('stopped');
    expect(await world.service.start(a, admin, opened.headSha)).toEqual({ kind: 'queued', pr: a });
    const running = await world.until(a, (r) => r.state === 'running' || r.state === 'failed');
    expect(running.state).toBe('running');
    expect(await (await world.get(a)).json()).toMatchObject({ commit: opened.headSha, variant: 'fork' });
    // From here on only the reconciling look tells the service.
    world.gh.setWebhook(undefined);
  }, 150_000);

  it('a sick head fails, says why, and touches no other preview', async () => {
    await world.push('sick', 'sick', { sick: true });
    b = await world.open('sick');
    await world.service.reconcile();
    const failed = await world.until(b, (r) => r.state === 'failed' || r.state === 'running', 120_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toBeTruthy();
    // The row says it first; GitHub and the chat hear it right after.
    await waitFor('the chat told', async () => world.failures.some((f) => f.record.pr === b), 10_000);
    expect((await world.comments(b))[0]?.body).toContain('failed at');
    expect(await world.deploymentStates(b)).toContain('failure');
    // The other preview serves on.
    expect((await world.row(a))?.state).toBe('running');
    expect((await world.get(a)).status).toBe(200);
    expect(await world.containers(b)).toHaveLength(0);
  }, 150_000);

  it('the cap: a third preview stops the one idle longest, with a comment on its pull request', async () => {
    // Fix the sick one: now two run (a and b), at the cap of 2.
    await world.push('sick', 'healed');
    await world.service.reconcile();
    await world.until(b, (r) => r.state === 'running', 120_000);
    await world.push('third', 'third');
    c = await world.open('third');
    await world.service.reconcile();
    const third = await world.until(c, (r) => r.state === 'running' || r.state === 'failed', 120_000);
    // Its image, built before room was made, is not pruned with a's.
    expect(third.reason).toBeUndefined();
    expect(third.state).toBe('running');
    // a's last push is the oldest.
    const stopped = await world.row(a);
    expect(stopped?.state).toBe('stopped');
    expect(stopped?.reason).toContain(`to make room for #${c}`);
    expect((await world.comments(a))[0]?.body).toContain('PREVIEW_MAX');
    await waitFor('its container gone', async () => (await world.containers(a)).length === 0, 30_000);
    expect((await world.row(b))?.state).toBe('running');
  }, 200_000);

  it('at the cap, a head whose build fails stops no other preview', async () => {
    // b and c run: the cap of 2 is reached. d's image cannot be built.
    await world.gh.pushCommit('unbuildable', {
      message: 'a Dockerfile that fails',
      files: { Dockerfile: 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN echo "no such step" && exit 3\n' },
    });
    const d = await world.open('unbuildable');
    await world.service.reconcile();
    const failed = await world.until(d, (r) => r.state === 'failed' || r.state === 'running', 120_000);
    expect(failed.state).toBe('failed');
    expect((await world.row(b))?.state).toBe('running');
    expect((await world.row(c))?.state).toBe('running');
    expect(await world.containers(b)).toHaveLength(1);
    expect(await world.containers(c)).toHaveLength(1);
    // Webhooks are off in this world since the fork's test: the look sees it closed.
    await world.close(d);
    await world.service.reconcile();
    await world.until(d, (r) => r.state === 'closed' && r.runningSha === undefined, 60_000);
  }, 200_000);

  it('the TTL stops an idle preview and keeps its database; a host short of memory starts none', async () => {
    world.clockMs = 2 * 3_600_000;
    await world.service.reconcile();
    await world.until(b, (r) => r.state === 'stopped', 30_000);
    expect((await world.row(b))?.reason).toContain('PREVIEW_TTL_HOURS');
    await waitFor('its container gone', async () => (await world.containers(b)).length === 0, 30_000);
    const { default: pg } = await import('pg');
    const { adminDatabaseUrl } = await import('../../helpers/services.js');
    const client = new pg.Client({ connectionString: adminDatabaseUrl() });
    await client.connect();
    const kept = await client.query('select 1 from pg_database where datname = $1', [
      previewNames(b, world.namespace).database,
    ]);
    await client.end();
    expect(kept.rowCount).toBe(1);

    world.room = { ...ROOM, freeMemoryBytes: 100 * 2 ** 20 };
    const expired = (await world.row(b))!;
    await world.service.start(b, admin);
    // An admin's start counts as a push: the TTL's next look does not stop it again at once.
    expect((await world.row(b))!.lastPushAt.getTime()).toBeGreaterThan(expired.lastPushAt.getTime());
    const refused = await world.until(
      b,
      (r) => r.state === 'stopped' && (r.reason ?? '').includes('memory'),
      30_000,
    );
    expect(refused.reason).toContain('PREVIEW_MIN_FREE_MEMORY_MB');
    expect((await world.comments(b))[0]?.body).toContain('short of memory');
    expect(await world.containers(b)).toHaveLength(0);
  }, 120_000);

  it('an admin tears one down from chat: container, database, role and Redis keys go; the row says who', async () => {
    // c was stopped by the TTL above (its database kept): the teardown removes what was kept.
    world.room = ROOM;
    expect(await world.service.tearDown(c, admin)).toEqual({ kind: 'queued', pr: c });
    expect(await world.row(c)).toMatchObject({
      state: 'stopped',
      stoppedBy: 'Aoife',
      reason: 'torn down by Aoife from chat',
    });
    const { default: pg } = await import('pg');
    const { adminDatabaseUrl } = await import('../../helpers/services.js');
    const names = previewNames(c, world.namespace);
    const left = async () => {
      const client = new pg.Client({ connectionString: adminDatabaseUrl() });
      await client.connect();
      try {
        const { rows } = await client.query(
          'select (select count(*) from pg_database where datname = $1)::int as db, (select count(*) from pg_roles where rolname = $2)::int as role',
          [names.database, names.role],
        );
        return rows[0] as { db: number; role: number };
      } finally {
        await client.end();
      }
    };
    await waitFor('its database and role dropped', async () => (await left()).db === 0, 30_000);
    expect(await left()).toEqual({ db: 0, role: 0 });
    expect(await world.containers(c)).toHaveLength(0);
    expect(await world.service.tearDown(c + 100, admin)).toMatchObject({ kind: 'refused' });
  }, 60_000);
});
