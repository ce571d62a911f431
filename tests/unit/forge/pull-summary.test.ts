import { describe, expect, it } from 'vitest';
import { pullSummaryOf } from '../../../src/forge/github/pull-list.js';

const pull = (headRepo: { full_name: string } | null, extra: Record<string, unknown> = {}) => ({
  number: 7,
  html_url: 'https://github.com/acme/app/pull/7',
  state: 'open',
  merged_at: null,
  updated_at: '2026-12-01T05:00:00Z',
  user: { login: 'someone' },
  head: { sha: 'a'.repeat(40), ref: 'feature', repo: headRepo },
  base: { ref: 'develop', repo: { full_name: 'acme/app' } },
  ...extra,
});

describe('a pull request summary', () => {
  it('is a fork when the head lives in another repository, or in one that was deleted (repo null)', () => {
    expect(pullSummaryOf(pull({ full_name: 'acme/app' })).fork).toBe(false);
    expect(pullSummaryOf(pull({ full_name: 'ACME/App' })).fork).toBe(false);
    expect(pullSummaryOf(pull({ full_name: 'someone/app' })).fork).toBe(true);
    expect(pullSummaryOf(pull(null)).fork).toBe(true);
  });

  it('is merged when a listing says merged_at (a listing has no merged), and by a ghost when the user is gone', () => {
    const merged = pullSummaryOf(
      pull(null, { state: 'closed', merged_at: '2026-12-01T05:01:00Z', user: null }),
    );
    expect(merged).toMatchObject({ state: 'closed', merged: true, author: 'ghost' });
    expect(merged.updatedAt.toISOString()).toBe('2026-12-01T05:00:00.000Z');
  });
});
