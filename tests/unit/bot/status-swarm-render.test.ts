// /status of environments whose app is a Swarm service: the tasks per node, desired against
// running, Swarm's update state and each task's version, in Details and the compact form.
import { describe, expect, it } from 'vitest';
import { renderStatus, renderStatusDetails } from '../../../src/bot/status/render.js';
import type { EnvironmentStatus, Probe, PublishedStatus } from '../../../src/status/status-report.js';
import type { SwarmServiceStatus } from '../../../src/status/swarm-status.js';

const now = new Date('2026-11-23T12:00:00Z');
const ok = <T>(value: T): Probe<T> => ({ ok: true, value });
const SHA = 'a1b2c3d4'.padEnd(40, '0');
const NEW = 'f00dbeef'.padEnd(40, '1');
const DIGEST = `sha256:${'ab12cd34ef56'.padEnd(64, '0')}`;
const published = (env: 'staging' | 'production'): PublishedStatus => ({
  env,
  gitSha: SHA,
  startedAt: new Date(now.getTime() - 3_600_000).toISOString(),
  container: `lugh-${env === 'staging' ? 'staging' : 'prod'}_app`,
  health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
  at: now.toISOString(),
});
const service = (s: Partial<SwarmServiceStatus> = {}): SwarmServiceStatus => ({
  name: 'lugh-prod_app',
  desired: 2,
  global: false,
  running: 2,
  tasks: [
    { slot: 1, node: 'node-a', state: 'running', health: 'healthy', sha: SHA, digest: DIGEST },
    { slot: 2, node: 'node-b', state: 'running', sha: SHA, digest: DIGEST },
  ],
  update: { state: 'completed', message: 'update completed' },
  sha: SHA,
  digest: DIGEST,
  ...s,
});
const production = (swarm: Probe<SwarmServiceStatus>, self = false): EnvironmentStatus => ({
  env: 'production',
  self,
  report: ok(published('production')),
  container: { ok: false, why: 'a Swarm service, not a container' },
  swarm,
});
const details = (e: EnvironmentStatus) => renderStatusDetails({ at: now, environments: [e] });
const compact = (e: EnvironmentStatus) => renderStatus({ at: now, environments: [e] });

describe('/status of a Swarm service', () => {
  it('Details: the service, desired against running, the update state, and a task per node with its version', () => {
    const text = details(production(ok(service())));
    expect(text).toContain(
      '  Swarm service lugh-prod_app · <code>a1b2c3d</code> · <code>sha256:ab12cd34ef56</code> · 2/2 running · ✅ update completed',
    );
    expect(text).toContain(
      '    ✅ task 1 on node-a: running (healthy) · <code>a1b2c3d</code> · <code>sha256:ab12cd34ef56</code>',
    );
    expect(text).toContain('    ✅ task 2 on node-b: running · <code>a1b2c3d</code>');
    // No container line: the app is no container here.
    expect(text).not.toContain('container');
    // The other environment's health is its tasks.
    expect(text).toContain('✅ app: 2/2 running (Swarm tasks)');
  });

  it('during an update: tasks of both versions, fewer running than asked for, Swarm’s state and message', () => {
    const text = details(
      production(
        ok(
          service({
            running: 1,
            tasks: [
              { slot: 1, node: 'node-a', state: 'running', sha: NEW },
              { slot: 2, node: 'node-b', state: 'starting', sha: SHA, health: 'starting' },
            ],
            update: { state: 'updating', message: 'update in progress' },
            sha: NEW,
            digest: undefined,
          }),
        ),
      ),
    );
    expect(text).toContain('1/2 running ⚠️ · ⏳ updating: update in progress');
    expect(text).toContain('✅ task 1 on node-a: running · <code>f00dbee</code>');
    expect(text).toContain('⏳ task 2 on node-b: starting (starting) · <code>a1b2c3d</code>');
    expect(text).toContain('⏳ app: 1/2 running ⚠️ (Swarm tasks)');
    expect(compact(production(ok(service({ running: 1, update: { state: 'updating' } }))))).toContain(
      '1/2 tasks ⚠️ · ⏳ updating',
    );
  });

  it('a rollback by Swarm says so with Swarm’s reason, and a failed task its error', () => {
    const text = details(
      production(
        ok(
          service({
            running: 1,
            tasks: [
              { slot: 1, node: 'node-a', state: 'running', sha: SHA },
              { slot: 2, node: 'node-a', state: 'failed', sha: NEW, error: 'task: non-zero exit (1)' },
            ],
            update: {
              state: 'rollback_completed',
              message: 'rollback completed: update paused due to failure or early termination of task x',
            },
          }),
        ),
      ),
    );
    expect(text).toContain('⏪ rolled back: rollback completed: update paused due to failure');
    expect(text).toContain('❌ task 2 on node-a: failed · <code>f00dbee</code> — task: non-zero exit (1)');
    expect(compact(production(ok(service({ update: { state: 'rollback_completed' } }))))).toContain(
      '2/2 tasks · ⏪ rolled back',
    );
  });

  it('a service that is not there, or a manager that does not answer, is unknown with why', () => {
    const missing = production({ ok: false, why: 'there is no Swarm service lugh-prod_app' });
    expect(details(missing)).toContain(
      '  Swarm service ❔ unknown — there is no Swarm service lugh-prod_app',
    );
    expect(details(missing)).toContain('❔ app: unknown (Swarm tasks, service unknown)');
    const short = compact(missing);
    expect(short).toContain('Swarm ❔');
    expect(short).toContain('❔ unknown: Details says why');
  });

  it('no running task at all is the other app down in the compact form; all well adds only the task count', () => {
    expect(compact(production(ok(service({ running: 0 }))))).toMatch(/<b>production<\/b> .* · ❌ app · /);
    const well = compact(production(ok(service())));
    expect(well).toContain('· ✅ · ');
    expect(well).toContain('· 2/2 tasks');
    expect(well).not.toContain('update');
  });

  it('more tasks running than asked for (a surplus Swarm left, moby/swarmkit#2242) is said too', () => {
    const surplus = service({ running: 4 });
    expect(details(production(ok(surplus)))).toContain('4/2 running ⚠️');
    expect(compact(production(ok(surplus)))).toContain('· 4/2 tasks ⚠️');
  });
});
