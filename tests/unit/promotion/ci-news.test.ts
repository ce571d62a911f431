import { describe, expect, it } from 'vitest';
import { checkLineOf, webhookNews } from '../../../src/promotion/ci-news.js';

describe('what a GitHub webhook tells a promotion waiting on CI', () => {
  it('a check run carries its line: pending until completed, failed for a failing conclusion', () => {
    const run = (status: string, conclusion: string | null) => ({
      action: status === 'completed' ? 'completed' : 'created',
      check_run: { name: 'build', status, conclusion, head_sha: 'abc', html_url: 'https://ci/1' },
    });
    expect(webhookNews('check_run', run('queued', null))).toEqual({
      sha: 'abc',
      news: {
        pull: false,
        ci: true,
        lines: [
          { name: 'build', kind: 'check_run', state: 'pending', detail: 'queued', url: 'https://ci/1' },
        ],
      },
    });
    expect(checkLineOf('check_run', run('completed', 'timed_out'))).toMatchObject({
      state: 'failure',
      detail: 'timed_out',
    });
    expect(checkLineOf('check_run', run('completed', 'neutral'))).toMatchObject({ state: 'success' });
  });

  it('a commit status carries its line', () => {
    expect(webhookNews('status', { sha: '123', context: 'ci/lint', state: 'error' })).toEqual({
      sha: '123',
      news: {
        pull: false,
        ci: true,
        lines: [{ name: 'ci/lint', kind: 'status', state: 'failure', detail: 'error' }],
      },
    });
  });

  it('a suite only requested says nothing yet; a completed one has CI read from GitHub', () => {
    const suite = (action: string) => ({ action, check_suite: { head_sha: 'abc' } });
    expect(webhookNews('check_suite', suite('requested')).news).toEqual({ pull: false, ci: true, lines: [] });
    expect(webhookNews('check_suite', suite('completed')).news).toEqual({ pull: false, ci: true });
    expect(webhookNews('workflow_run', { action: 'completed', workflow_run: { head_sha: 'abc' } })).toEqual({
      sha: 'abc',
      news: { pull: false, ci: true },
    });
  });

  it('a pull request event is matched by number; only a change of head or state reads it again', () => {
    const pr = (action: string) => ({ action, number: 7, pull_request: { number: 7, head: { sha: 'new' } } });
    expect(webhookNews('pull_request', pr('opened'))).toEqual({
      pullNumber: 7,
      news: { pull: false, ci: false },
    });
    expect(webhookNews('pull_request', pr('synchronize'))).toEqual({
      pullNumber: 7,
      news: { pull: true, ci: false },
    });
    expect(webhookNews('pull_request', pr('closed')).news.pull).toBe(true);
  });
});
