import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/bot/status/render.js';
import type {
  ContainerFacts,
  EnvironmentStatus,
  Probe,
  PublishedStatus,
} from '../../../src/status/status-report.js';
import type { VersionFacts } from '../../../src/status/version-lookup.js';

const now = new Date('2026-11-23T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const ok = <T>(value: T): Probe<T> => ({ ok: true, value });
const published = (env: 'staging' | 'production', ready = true): PublishedStatus => ({
  env,
  gitSha: 'a1b2c3d4'.padEnd(40, '0'),
  startedAt: ago(3_600_000).toISOString(),
  container: `lugh-${env}-app`,
  health: {
    status: ready ? 'ok' : 'unavailable',
    db: ready ? 'ok' : 'down: timeout',
    redis: 'ok',
    telegram: 'ok',
  },
  at: now.toISOString(),
});
const running = (facts: Partial<ContainerFacts> = {}): Probe<ContainerFacts> =>
  ok({ name: 'lugh-prod-app', state: 'running', ...facts });

/** The report's lines about the one environment given, production, seen from staging. */
function production(e: Partial<EnvironmentStatus>): string {
  const text = renderStatus({
    at: now,
    environments: [
      { env: 'production', self: false, report: ok(published('production')), container: running(), ...e },
    ],
  });
  return text.split('\n').slice(1).join('\n');
}

describe('/status rendering', () => {
  it('shows the release tag and the age of the running version, or why they are unknown', () => {
    const version = (v: Partial<VersionFacts>): Probe<VersionFacts | undefined> =>
      ok({ sha: 'a1b2c3d', tagSearchComplete: true, committedAt: ago(3 * 86_400_000 + 60_000), ...v });
    expect(production({ version: version({ tag: 'v1.4.0' }) })).toContain(
      'version <code>a1b2c3d</code> (v1.4.0, 3 d old) · up 1 h 0 min',
    );
    expect(production({ version: version({ committedAt: ago(5 * 3_600_000) }) })).toContain(
      '(untagged, 5 h 0 min old)',
    );
    expect(production({ version: version({ tagSearchComplete: false }) })).toContain(
      '(no recent tag, 3 d old)',
    );
    expect(production({ version: { ok: false, why: 'no answer within 1800 ms' } })).toContain(
      'version <code>a1b2c3d</code> (tag and age ❔ unknown — no answer within 1800 ms) · up',
    );
    // No SHA to look up, or nothing to look it up with: the SHA alone.
    expect(production({ version: ok(undefined) })).toContain('version <code>a1b2c3d</code> · up');
    expect(production({})).toContain('version <code>a1b2c3d</code> · up');
  });

  it('says where the last deploy’s image came from, as the other instance publishes it', () => {
    const last = {
      id: 5,
      status: 'succeeded',
      sha: 'a1b2c3d4'.padEnd(40, '0'),
      trigger: 'promotion',
      requestedBy: null,
      at: ago(600_000).toISOString(),
    };
    const withLast = (l: PublishedStatus['last']) =>
      production({ report: ok({ ...published('production'), last: l }) });
    expect(
      withLast({ ...last, image: { kind: 'reused', fromEnv: 'staging', since: '2026-11-23T09:15:00.000Z' } }),
    ).toContain(
      'last deploy #5 succeeded <code>a1b2c3d</code> by a promotion, 10 min ago\n  📦 same image staging ran since 2026-11-23 09:15 UTC',
    );
    expect(withLast({ ...last, image: { kind: 'built' } })).toContain('\n  📦 built new: tree differs');
    expect(withLast({ ...last, status: 'failed', image: { kind: 'built' } })).not.toContain('📦');
    expect(withLast(last)).not.toContain('📦');
  });

  it("names where the app's health comes from: its own readiness here, Docker's health check there", () => {
    const own = renderStatus({
      at: now,
      environments: [
        { env: 'staging', self: true, report: ok(published('staging', false)), container: running() },
      ],
    });
    expect(own).toContain('health ❌ app: not ready (own readiness check) · ❌ db · ✅ redis · ✅ telegram');
    expect(production({ container: running({ health: 'healthy' }) })).toContain(
      'health ✅ app: healthy (Docker health check) · ✅ db',
    );
    expect(production({ container: running({ health: 'starting' }) })).toContain(
      '⏳ app: starting (Docker health check)',
    );
    expect(production({ container: running({ health: 'unhealthy' }) })).toContain(
      '❌ app: unhealthy (Docker health check)',
    );
    expect(production({ container: running() })).toContain('❔ app: running, no Docker health check');
    expect(production({ container: { ok: false, why: 'connect ENOENT /var/run/docker.sock' } })).toContain(
      '❔ app: unknown (Docker health check, container unknown)',
    );
  });

  it('shows CPU over the span it covers, and what of the usage is missing', () => {
    const mib = 2 ** 20;
    expect(
      production({
        container: running({
          cpuPercent: 1.25,
          cpuWindowMs: 1_000,
          memoryBytes: 50 * mib,
          memoryLimitBytes: 512 * mib,
        }),
      }),
    ).toContain('running · CPU 1.3 % · memory 50 MiB / 512 MiB');
    expect(
      production({ container: running({ cpuPercent: 0.4, cpuWindowMs: 40_000, memoryBytes: 50 * mib }) }),
    ).toContain('CPU 0.4 % over 40 s · memory 50 MiB');
    expect(
      production({
        container: running({
          memoryBytes: 50 * mib,
          usageWhy: 'CPU needs a second sample, none within 1400 ms',
        }),
      }),
    ).toContain('memory 50 MiB · CPU ❔ unknown — CPU needs a second sample, none within 1400 ms');
    expect(production({ container: running({ usageWhy: 'no stats within 1400 ms' }) })).toContain(
      'running · CPU and memory ❔ unknown — no stats within 1400 ms',
    );
  });
});
