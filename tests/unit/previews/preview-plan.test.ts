import { describe, expect, it } from 'vitest';
import type { PullSummary } from '../../../src/forge/forge.js';
import { previewImageTag, previewNames } from '../../../src/previews/preview.js';
import { memAvailable, shortOfRoom } from '../../../src/previews/preview-host-room.js';
import {
  capVictim,
  decideDelivery,
  FORK_WAITS,
  type PlanRow,
  type PullRequestEvent,
  planReconcile,
  previewEnv,
} from '../../../src/previews/preview-plan.js';
import { pullRequestEvent } from '../../../src/previews/preview-service.js';
import { withoutUrlPasswords } from '../../../src/redact.js';

const event = (over: Partial<PullRequestEvent> = {}): PullRequestEvent => ({
  action: 'opened',
  pr: 7,
  headSha: 'a'.repeat(40),
  headRef: 'feature',
  baseRef: 'develop',
  author: 'aoife',
  fork: false,
  state: 'open',
  baseChanged: false,
  ...over,
});
const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));
const row = (over: Partial<PlanRow> = {}): PlanRow => ({
  pr: 7,
  state: 'running',
  headSha: 'a'.repeat(40),
  fork: false,
  lastPushAt: at(0),
  updatedAt: at(0),
  ...over,
});
const pull = (over: Partial<PullSummary> = {}): PullSummary => ({
  number: 7,
  url: 'https://github.example/acme/app/pull/7',
  state: 'open',
  merged: false,
  headSha: 'a'.repeat(40),
  headRef: 'feature',
  baseRef: 'develop',
  author: 'aoife',
  fork: false,
  updatedAt: at(0),
  ...over,
});

describe('decideDelivery', () => {
  it('deploys an opened, reopened or pushed pull request into develop', () => {
    expect(decideDelivery(event(), undefined, 'develop')).toEqual({ kind: 'deploy' });
    expect(
      decideDelivery(event({ action: 'synchronize', headSha: 'b'.repeat(40) }), row(), 'develop'),
    ).toEqual({
      kind: 'deploy',
    });
    expect(decideDelivery(event({ action: 'reopened' }), row({ state: 'closed' }), 'develop')).toEqual({
      kind: 'deploy',
    });
  });

  it('ignores another base, a redelivered head, and a synchronize after closed', () => {
    expect(decideDelivery(event({ baseRef: 'main' }), undefined, 'develop').kind).toBe('ignore');
    expect(decideDelivery(event({ action: 'synchronize' }), row(), 'develop').kind).toBe('ignore');
    expect(decideDelivery(event({ action: 'opened' }), row({ state: 'queued' }), 'develop').kind).toBe(
      'ignore',
    );
    expect(
      decideDelivery(
        event({ action: 'synchronize', headSha: 'c'.repeat(40) }),
        row({ state: 'closed' }),
        'develop',
      ).kind,
    ).toBe('ignore');
    expect(decideDelivery(event({ action: 'labeled' }), row(), 'develop').kind).toBe('ignore');
  });

  it('a delivery about a pull request that is not open, or an edit that left its base alone, asks for nothing', () => {
    // `edited` (title, body) on a closed pull request, with its row closed or none.
    for (const r of [row({ state: 'closed' }), undefined])
      expect(decideDelivery(event({ action: 'edited', state: 'closed' }), r, 'develop').kind).toBe('ignore');
    // `edited` of the title of an open pull request without a row: nothing to build.
    expect(decideDelivery(event({ action: 'edited' }), undefined, 'develop').kind).toBe('ignore');
    // Retargeted onto develop: it asks for a preview.
    expect(decideDelivery(event({ action: 'edited', baseChanged: true }), undefined, 'develop')).toEqual({
      kind: 'deploy',
    });
    // `opened` delivered after `closed`: the close stands.
    expect(decideDelivery(event({ action: 'opened' }), row({ state: 'closed' }), 'develop').kind).toBe(
      'ignore',
    );
    // Any opening action whose payload says the pull request is closed.
    expect(decideDelivery(event({ action: 'reopened', state: 'closed' }), undefined, 'develop').kind).toBe(
      'ignore',
    );
    // Retargeted away from develop: closed like a closed one; a title edit there is not.
    expect(
      decideDelivery(event({ action: 'edited', baseRef: 'main', baseChanged: true }), row(), 'develop').kind,
    ).toBe('close');
    expect(decideDelivery(event({ action: 'edited', baseRef: 'main' }), row(), 'develop').kind).toBe(
      'ignore',
    );
  });

  it('never builds a fork on its own: it waits for an admin', () => {
    expect(decideDelivery(event({ fork: true }), undefined, 'develop')).toEqual({
      kind: 'wait',
      reason: FORK_WAITS,
    });
  });

  it('closes on closed, merged or not, once', () => {
    expect(decideDelivery(event({ action: 'closed' }), row(), 'develop')).toEqual({ kind: 'close' });
    expect(decideDelivery(event({ action: 'closed' }), row({ state: 'closed' }), 'develop').kind).toBe(
      'ignore',
    );
    expect(decideDelivery(event({ action: 'closed' }), undefined, 'develop').kind).toBe('ignore');
    expect(
      decideDelivery(event({ action: 'edited', baseRef: 'main', baseChanged: true }), row(), 'develop'),
    ).toEqual({
      kind: 'close',
    });
  });
});

describe('planReconcile', () => {
  const parts = { containers: [], databases: [], routes: [] };
  it('starts open pull requests without a preview or at a new head, forks waiting', () => {
    const pulls = [
      pull({ number: 1 }),
      pull({ number: 2, headSha: 'b'.repeat(40) }),
      pull({ number: 3, fork: true }),
    ];
    const rows = [row({ pr: 2 })];
    expect(planReconcile({ rows, pulls, parts, now: at(1), ttlMs: 3_600_000 })).toEqual([
      { kind: 'deploy', pull: pulls[0] },
      { kind: 'deploy', pull: pulls[1] },
      { kind: 'wait', pull: pulls[2] },
    ]);
  });

  it('asks again for a preview whose job lost its way (mid-way and unmoved for 15 minutes), not one still moving', () => {
    const pulls = [pull({ number: 1 }), pull({ number: 2 })];
    const rows = [
      row({ pr: 1, state: 'building', updatedAt: at(0) }),
      row({ pr: 2, state: 'queued', updatedAt: at(10) }),
    ];
    expect(planReconcile({ rows, pulls, parts, now: at(20), ttlMs: 3_600_000 })).toEqual([
      { kind: 'deploy', pull: pulls[0] },
    ]);
  });

  it('closes previews whose pull request is not open, expires idle ones, and removes parts no row accounts for', () => {
    const rows = [
      row({ pr: 1 }),
      row({ pr: 2, lastPushAt: at(0) }),
      row({ pr: 3, state: 'stopped' }),
      row({ pr: 4, state: 'closed' }),
    ];
    const pulls = [pull({ number: 2 }), pull({ number: 3 })];
    const seen = { containers: [2, 3, 4, 9], databases: [2, 3, 4], routes: [2, 3] };
    expect(planReconcile({ rows, pulls, parts: seen, now: at(120), ttlMs: 3_600_000 })).toEqual([
      { kind: 'close', pr: 1 },
      { kind: 'expire', pr: 2 },
      { kind: 'remove-container', pr: 3 },
      { kind: 'remove-container', pr: 4 },
      { kind: 'remove-container', pr: 9 },
      { kind: 'drop-database', pr: 4 },
      { kind: 'unroute', pr: 3 },
    ]);
  });
});

describe('capVictim', () => {
  it('stops the running preview idle longest once the cap is reached, none before', () => {
    const rows = [
      row({ pr: 1, lastPushAt: at(5) }),
      row({ pr: 2, lastPushAt: at(1) }),
      row({ pr: 3, state: 'queued' }),
    ];
    expect(capVictim(rows, 3, 3)).toBeUndefined();
    expect(capVictim(rows, 3, 2)?.pr).toBe(2);
    expect(capVictim([row({ pr: 3 })], 3, 1)).toBeUndefined();
    // A failed head whose previous version serves on holds a place (and may be stopped); one with nothing running does not.
    const failed = [
      row({ pr: 1, lastPushAt: at(5) }),
      row({ pr: 2, state: 'failed', runningSha: 'b'.repeat(40), lastPushAt: at(1) }),
    ];
    expect(capVictim(failed, 3, 2)?.pr).toBe(2);
    expect(capVictim([row({ pr: 1 }), row({ pr: 2, state: 'failed' })], 3, 2)).toBeUndefined();
  });
});

describe('host room and environment', () => {
  it('refuses when memory or disk is short, saying which setting', () => {
    const min = { memoryBytes: 512 * 2 ** 20, diskBytes: 2048 * 2 ** 20 };
    expect(shortOfRoom({ freeMemoryBytes: 2 ** 30, freeDiskBytes: 2 ** 32 }, min)).toBeUndefined();
    expect(shortOfRoom({ freeMemoryBytes: 100 * 2 ** 20, freeDiskBytes: 2 ** 32 }, min)).toMatch(
      /short of memory \(100 MiB.*PREVIEW_MIN_FREE_MEMORY_MB/,
    );
    expect(shortOfRoom({ freeMemoryBytes: 2 ** 30, freeDiskBytes: 2 ** 20 }, min)).toMatch(
      /PREVIEW_MIN_FREE_DISK_MB/,
    );
    expect(memAvailable('MemTotal:  100 kB\nMemAvailable:    2048 kB\n')).toBe(2 * 2 ** 20);
  });

  it('builds the container environment from nothing but what a preview needs', () => {
    const names = previewNames(7);
    expect(
      previewEnv({
        names,
        sha: 'a'.repeat(40),
        port: 8080,
        url: 'http://pr-7.preview.localhost/',
        databaseUrl: 'postgres://preview_pr_7:x@db/preview_pr_7',
        redis: { url: 'redis://r:6379', prefix: 'preview:pr7:' },
      }),
    ).toEqual({
      PORT: '8080',
      APP_ENV: 'preview',
      PREVIEW_PR: '7',
      PUBLIC_URL: 'http://pr-7.preview.localhost/',
      GIT_SHA: 'a'.repeat(40),
      COMMIT_SHA: 'a'.repeat(40),
      DATABASE_URL: 'postgres://preview_pr_7:x@db/preview_pr_7',
      REDIS_URL: 'redis://r:6379',
      REDIS_PREFIX: 'preview:pr7:',
    });
    expect(previewImageTag('lugh', names, 'b'.repeat(40))).toBe(`lugh:preview-pr-7-${'b'.repeat(12)}`);
    expect(previewImageTag('lugh', previewNames(7, 't-x1'), 'b'.repeat(40))).toBe(
      `lugh:t-x1-preview-pr-7-${'b'.repeat(12)}`,
    );
  });
});

describe('pullRequestEvent', () => {
  it('reads a delivery, a fork by its head repository', () => {
    const payload = {
      action: 'opened',
      number: 7,
      pull_request: {
        state: 'open',
        user: { login: 'aoife' },
        head: { sha: 'a'.repeat(40), ref: 'feature', repo: { id: 2 } },
        base: { ref: 'develop', repo: { id: 1 } },
      },
    };
    expect(pullRequestEvent(payload)).toEqual(event({ fork: true }));
    expect(
      pullRequestEvent({
        ...payload,
        pull_request: { ...payload.pull_request, head: { ...payload.pull_request.head, repo: { id: 1 } } },
      }),
    ).toEqual(event());
    expect(pullRequestEvent({ action: 'opened' })).toBeUndefined();
    const edited = pullRequestEvent({
      ...payload,
      action: 'edited',
      changes: { base: { ref: { from: 'main' } } },
      pull_request: { ...payload.pull_request, state: 'closed' },
    });
    expect(edited).toMatchObject({ action: 'edited', state: 'closed', baseChanged: true });
    expect(
      pullRequestEvent({ ...payload, action: 'edited', changes: { title: { from: 'x' } } }),
    ).toMatchObject({ baseChanged: false });
  });
});

describe('withoutUrlPasswords', () => {
  it("drops a URL's password from a preview's output, keeping the rest", () => {
    expect(
      withoutUrlPasswords(
        'connect postgres://preview_pr_7:s3cr3t@db:5432/preview_pr_7 failed; redis://u:p@r:6379 too',
      ),
    ).toBe(
      'connect postgres://preview_pr_7:[redacted]@db:5432/preview_pr_7 failed; redis://u:[redacted]@r:6379 too',
    );
    expect(withoutUrlPasswords('see http://example.com/a:b and user@host')).toBe(
      'see http://example.com/a:b and user@host',
    );
  });
});
