import { describe, expect, it } from 'vitest';
import { renderStatus, renderStatusDetails } from '../../../src/bot/status/render.js';
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
  const text = renderStatusDetails({
    at: now,
    environments: [
      { env: 'production', self: false, report: ok(published('production')), container: running(), ...e },
    ],
  });
  return text.split('\n').slice(1).join('\n');
}

describe('/status Details rendering', () => {
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
    // A rollback of one service alone says so.
    expect(withLast({ ...last, trigger: 'rollback', requestedBy: 42, onlyService: 'worker' })).toContain(
      'by user 42 (rollback of worker alone), 10 min ago',
    );
  });

  it("names where the app's health comes from: its own readiness here, Docker's health check there", () => {
    const own = renderStatusDetails({
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

describe('/status compact rendering', () => {
  const version = (tag?: string): Probe<VersionFacts | undefined> =>
    ok({ sha: 'a1b2c3d', tag, tagSearchComplete: true, committedAt: ago(3 * 86_400_000 + 60_000) });
  const staging: EnvironmentStatus = {
    env: 'staging',
    self: true,
    report: ok(published('staging')),
    container: running({ name: 'lugh-staging-app', cpuPercent: 2, memoryBytes: 2 ** 26 }),
    version: version(),
  };
  const production: EnvironmentStatus = {
    env: 'production',
    self: false,
    report: ok({
      ...published('production'),
      lock: { owner: 'deployment:12', reason: 'deploy #12', expiresAt: ago(-600_000).toISOString() },
      deploying: { id: 12, step: 'build' },
    }),
    container: running({ health: 'healthy' }),
    version: version('v1.4.0'),
  };
  const report = {
    at: now,
    environments: [staging, production],
    compare: ok({ aheadBy: 3, behindBy: 0, commits: [], totalCommits: 3 } as never),
    ci: ok({ overall: 'success' } as never),
    promotion: ok({ id: 4, status: 'awaiting_approval' } as never),
  };

  it('one line per environment: tag and short SHA, health, age, lock, the deploy under way', () => {
    const lines = renderStatus(report).split('\n');
    expect(lines[1]).toBe('<b>staging</b> <code>a1b2c3d</code> · ✅ · 3 d old');
    expect(lines[2]).toBe(
      '<b>production</b> v1.4.0 <code>a1b2c3d</code> · ✅ · 3 d old · 🔒 deploy #12 · 🚀 #12 build',
    );
  });

  it('then what waits to ship: develop ahead by N, CI, the open promotion', () => {
    expect(renderStatus(report).split('\n')[3]).toBe(
      '⏳ develop +3 · CI ✅ · promotion #4 awaiting approval',
    );
  });

  it('an earlier answer, given because GitHub was slow, says its age in the short form too', () => {
    const text = renderStatus({
      ...report,
      compare: { ok: true, value: { aheadBy: 3, behindBy: 0, commits: [] } as never, at: ago(20_000) },
    });
    expect(text.split('\n')[3]).toBe('⏳ develop +3 (20 s ago) · CI ✅ · promotion #4 awaiting approval');
  });

  it('fits one phone screen: five lines, none wider than a 390 px bubble wraps twice', () => {
    const text = renderStatus(report);
    const lines = text.split('\n');
    expect(lines.length).toBeLessThanOrEqual(6);
    // About 38 characters fit a line of a message bubble at 390 px.
    const shown = (l: string) => l.replace(/<[^>]+>/g, '');
    for (const l of lines) expect(shown(l).length).toBeLessThanOrEqual(76);
    // Usage, containers and webhooks are for Details.
    expect(text).not.toMatch(/CPU|memory|container/);
  });

  it('names what is down, and a person holding a lock by name', () => {
    const down: EnvironmentStatus = {
      ...staging,
      report: ok({
        ...published('staging', false),
        lock: { owner: 'ada (1001)', reason: 'hotfix', expiresAt: ago(-600_000).toISOString() },
      }),
    };
    expect(renderStatus({ at: now, environments: [down] })).toContain(
      '<b>staging</b> <code>a1b2c3d</code> · ❌ app, db · 3 d old · 🔒 ada',
    );
  });

  it('an unknown source is ❔ in its place, and the last line says where to see why', () => {
    const text = renderStatus({
      ...report,
      environments: [staging, { ...production, report: { ok: false, why: 'not reported' } }],
      compare: { ok: false, why: 'no answer within 1800 ms' },
    });
    expect(text).toContain('<b>production</b> ❔');
    expect(text).toContain('⏳ develop ❔ · CI ✅');
    expect(text.split('\n').at(-1)).toBe('❔ unknown: Details says why');
    expect(text).not.toContain('1800 ms');
  });

  it('Details shows CPU from the background sample with its age, never "needs a second sample"', () => {
    const text = renderStatusDetails({
      at: now,
      environments: [
        {
          ...staging,
          container: running({ cpuPercent: 0.4, cpuWindowMs: 15_000, usageAt: ago(4_000) }),
        },
      ],
    });
    expect(text).toContain('CPU 0.4 % over 15 s, sampled 4 s ago');
    // Asked before the sampler's first pass ended: said as such, not as unknown.
    const early = renderStatusDetails({
      at: now,
      environments: [{ ...staging, container: running({ usagePending: true }) }],
    });
    expect(early).toContain('running · CPU and memory: first sample under way');
    expect(early).not.toContain('unknown');
  });
});
