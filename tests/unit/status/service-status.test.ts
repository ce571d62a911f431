import { describe, expect, it } from 'vitest';
import { renderStatus, renderStatusDetails } from '../../../src/bot/status/render.js';
import {
  desiredReplicas,
  type SetContainerState,
  serviceStatuses,
} from '../../../src/status/service-status.js';
import type { StatusReport } from '../../../src/status/status-report.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const c = (service: string, replica: number, over: Partial<SetContainerState> = {}): SetContainerState => ({
  service,
  replica,
  name: `lugh-prod-app-${service}-${replica}`,
  state: 'running',
  health: 'healthy',
  sha: B,
  ...over,
});

describe('/status of a set', () => {
  it('reads the replicas a recorded set asks for, and nothing from what is not one', () => {
    expect(
      desiredReplicas({ declared: true, services: [{ name: 'app', replicas: 2 }, { name: 'worker' }] }),
    ).toEqual({
      app: 2,
      worker: 1,
    });
    expect(desiredReplicas(null)).toBeUndefined();
    expect(desiredReplicas({ services: 'x' })).toBeUndefined();
  });

  it('counts ready replicas (running, healthy when checked) against the desired, with the worst health', () => {
    const statuses = serviceStatuses(
      [
        c('app', 1),
        c('app', 2, { health: 'unhealthy', sha: A }),
        c('worker', 1, { health: undefined }),
        c('mailer', 1, { state: 'exited', health: undefined }),
      ],
      { app: 2, worker: 1, web: 1 },
    );
    expect(statuses).toEqual([
      { service: 'app', shas: [B, A], ready: 1, desired: 2, health: 'unhealthy' },
      { service: 'worker', shas: [B], ready: 1, desired: 1, health: 'none' },
      { service: 'mailer', shas: [B], ready: 0, health: 'stopped' },
      { service: 'web', shas: [], ready: 0, desired: 1, health: 'missing' },
    ]);
  });

  it('is empty for one service: the app container alone, no set recorded', () => {
    expect(serviceStatuses([c('app', 1)], undefined)).toEqual([]);
    expect(serviceStatuses([c('app', 1)], { app: 1 })).toEqual([]);
  });

  const report = (services?: StatusReport['environments'][number]['services']): StatusReport => ({
    at: new Date('2026-11-30T12:00:00Z'),
    environments: [
      {
        env: 'production',
        self: true,
        report: {
          ok: true,
          value: {
            env: 'production',
            gitSha: B,
            startedAt: '2026-11-30T11:00:00Z',
            container: 'lugh-prod-app',
            health: { db: 'ok', redis: 'ok', telegram: 'ok', status: 'ok' },
            at: '2026-11-30T12:00:00Z',
          },
        },
        container: { ok: true, value: { name: 'lugh-prod-app', state: 'running' } },
        ...(services ? { services } : {}),
      },
    ],
  });

  it('renders a line per service under its environment, compact and in Details; one service as before', () => {
    const services = {
      ok: true as const,
      value: serviceStatuses([c('app', 1), c('app', 2, { health: 'starting' })], { app: 2, web: 1 }),
    };
    const lines = [
      '  app <code>bbbbbbb</code> · 1/2 ready ⚠️ · ⏳ starting',
      '  web · 0/1 ready · ❌ no container',
    ];
    for (const text of [renderStatus(report(services)), renderStatusDetails(report(services))])
      expect(text).toContain(lines.join('\n'));
    const none = { ok: true as const, value: [] };
    expect(renderStatus(report(none))).toBe(renderStatus(report()));
    expect(renderStatusDetails(report(none))).toBe(renderStatusDetails(report()));
    expect(renderStatus(report({ ok: false, why: 'no answer within 1800 ms' }))).toBe(renderStatus(report()));
  });
});
