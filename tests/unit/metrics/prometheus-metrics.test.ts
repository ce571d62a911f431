// One registry per instance; bounded labels; gauges read at scrape time within a deadline.
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';

const line = (body: string, start: string) => body.split('\n').find((l) => l.startsWith(start));

describe('createPrometheusMetrics', () => {
  it('keeps each instance’s counts in its own registry', async () => {
    const staging = createPrometheusMetrics({ env: 'staging' });
    const production = createPrometheusMetrics({ env: 'production' });
    staging.metrics.deployFinished({ trigger: 'manual', outcome: 'rolled_back', seconds: 40, steps: [] });
    const s = (await staging.render()).body;
    const p = (await production.render()).body;
    expect(line(s, 'lugh_deploys_total{')).toBe(
      'lugh_deploys_total{trigger="manual",outcome="rolled_back",environment="staging"} 1',
    );
    expect(line(s, 'lugh_rollbacks_total{')).toBe(
      'lugh_rollbacks_total{kind="automatic",environment="staging"} 1',
    );
    expect(line(p, 'lugh_deploys_total{')).toBeUndefined();
  });

  it('turns an unknown update kind, step or status into a bounded value', async () => {
    const m = createPrometheusMetrics({ env: 'staging' });
    m.metrics.telegramUpdate('something_new_1234567890', 0.01);
    m.metrics.githubResponse(12345);
    m.metrics.deployFinished({
      trigger: 'push',
      outcome: 'succeeded',
      steps: [{ step: 'a3f9c2e1b7d4a3f9c2e1b7d4a3f9c2e1b7d4a3f9', seconds: 1 }],
    });
    const body = (await m.render()).body;
    expect(line(body, 'lugh_telegram_updates_total{')).toContain('kind="other"');
    expect(line(body, 'lugh_github_requests_total{')).toContain('status="0"');
    expect(line(body, 'lugh_deploy_step_duration_seconds_count{')).toContain('step="other"');
    expect(body).not.toContain('a3f9c2e1');
  });

  it('names the deploys and previews queues, any other queue `other`, and counts an abandoned deploy apart', async () => {
    const m = createPrometheusMetrics({ env: 'staging' });
    m.watch({
      queues: async () => [
        { queue: 'deploys', counts: { waiting: 1 } },
        { queue: 'previews', counts: { waiting: 2 }, oldestAgeSeconds: 5 },
        { queue: 'lugh-test-queue-4f1e9a', counts: { waiting: 3 } },
      ],
    });
    m.metrics.deployFinished({ trigger: 'push', outcome: 'abandoned', steps: [] });
    const body = (await m.render()).body;
    expect(line(body, 'lugh_queue_jobs{queue="deploys"')).toMatch(/ 1$/);
    expect(line(body, 'lugh_queue_jobs{queue="previews"')).toMatch(/ 2$/);
    expect(line(body, 'lugh_queue_jobs{queue="other"')).toMatch(/ 3$/);
    expect(line(body, 'lugh_queue_oldest_job_age_seconds{queue="previews"')).toMatch(/ 5$/);
    expect(line(body, 'lugh_deploys_total{')).toBe(
      'lugh_deploys_total{trigger="push",outcome="abandoned",environment="staging"} 1',
    );
    expect(line(body, 'lugh_rollbacks_total{')).toBeUndefined();
  });

  it('a source slower than the deadline keeps the gauge’s last value and does not hold the scrape', async () => {
    const m = createPrometheusMetrics({ env: 'staging', deadlineMs: 50 });
    let backlog: () => Promise<number> = async () => 7;
    m.watch({ outboxBacklog: () => backlog() });
    expect(line((await m.render()).body, 'lugh_notifications_outbox_backlog')).toMatch(/ 7$/);
    backlog = () => new Promise(() => {}); // never answers
    expect(line((await m.render()).body, 'lugh_notifications_outbox_backlog')).toMatch(/ 7$/);
    backlog = async () => {
      throw new Error('database down');
    };
    expect(line((await m.render()).body, 'lugh_notifications_outbox_backlog')).toMatch(/ 7$/);
  });
});
