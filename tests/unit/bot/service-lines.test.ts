import { describe, expect, it } from 'vitest';
import { renderProgress } from '../../../src/bot/deploys/render.js';
import { aloneWarning, oneServiceRefusal } from '../../../src/bot/deploys/rollback-texts.js';
import { failedServiceLine, renderServiceLines } from '../../../src/bot/deploys/service-lines.js';
import { plainLength, TEXT_BUDGET } from '../../../src/bot/telegram-limits.js';
import type { ServiceProgress, ServiceState } from '../../../src/store/deployment-services.js';
import type { Deployment } from '../../../src/store/deployments.js';

const row = (
  service: string,
  replica: number,
  state: ServiceState,
  detail: string | null = null,
): ServiceProgress => ({
  service,
  replica,
  container: `lugh-prod-app-${service}-${replica}`,
  state,
  detail,
  updatedAt: new Date(0),
});

describe('a set deploy’s service lines', () => {
  it('gives a line per service in the deploy’s order, the moving replica telling, counts only for several', () => {
    expect(
      renderServiceLines([
        row('worker', 1, 'verified'),
        row('app', 1, 'switched'),
        row('app', 2, 'health'),
        row('web', 1, 'waiting'),
      ]),
    ).toEqual(['worker ✅ verified', 'app 🔄 1/2 health check', 'web ⏳ waiting']);
  });

  it('says nothing for one container (a one-service deploy renders as before)', () => {
    expect(renderServiceLines([row('app', 1, 'switching')])).toEqual([]);
    expect(renderServiceLines([])).toEqual([]);
    expect(failedServiceLine([row('app', 1, 'failed', 'x')])).toBeUndefined();
  });

  it('shows a failure over everything else, with its replica and why, escaped and cut', () => {
    const why = `<b>${'x'.repeat(100)}`;
    const [line] = renderServiceLines([
      row('api', 1, 'rolled_back'),
      row('api', 2, 'failed', why),
      row('web', 1, 'waiting'),
    ]);
    expect(line).toMatch(/^api ❌ 0\/2 failed \(replica 2\): <i>&lt;b&gt;x+…<\/i>$/);
    // Cut to 80 characters before escaping: `<b>` and 74 of the x's (77 kept), then the ellipsis.
    expect(line).toContain(`&lt;b&gt;${'x'.repeat(74)}…`);
  });

  it('names the failed service and what was put back in the final message', () => {
    expect(
      failedServiceLine([
        row('worker', 1, 'failed', 'exited with code 1'),
        row('app', 1, 'rolled_back'),
        row('web', 1, 'rolled_back'),
      ]),
    ).toBe(
      '❌ Service <b>worker</b> (lugh-prod-app-worker-1) failed: exited with code 1. Put back: app, web.',
    );
    expect(failedServiceLine([row('worker', 1, 'switched'), row('app', 1, 'verified')])).toBeUndefined();
  });
});

describe('the progress message of a large set', () => {
  it('stays one Telegram message: the service lines that do not fit become “…and N more”', () => {
    const rows = Array.from({ length: 60 }, (_, i) => row(`service${i}`, 1, 'failed', 'y'.repeat(200)));
    const d = {
      id: 9,
      env: 'production',
      ref: 'main',
      sha: null,
      previousSha: null,
    } as unknown as Deployment;
    const text = renderProgress(d, [], undefined, rows);
    expect(plainLength(text)).toBeLessThanOrEqual(TEXT_BUDGET);
    expect(text).toMatch(/\n…and \d+ more$/);
    expect(text).toContain('service0 ❌ failed');
  });
});

describe('/rollback <service>', () => {
  const set = [
    { service: 'app', replica: 1, name: 'lugh-prod-app' },
    { service: 'app', replica: 2, name: 'lugh-prod-app-2' },
    { service: 'worker', replica: 1, name: 'lugh-prod-app-worker-1' },
  ];
  it('is refused with why, naming the whole set and the explicit form', () => {
    const text = oneServiceRefusal('production', 'worker', set);
    expect(text).toContain('worker alone is not rolled back: the set is the unit.');
    expect(text).toContain('<code>/rollback production</code> takes the whole set (app ×2, worker)');
    expect(text).toContain('say so: <code>/rollback production worker alone</code>');
  });
  it('names the services there are for an unknown one, and says one service has none to pick', () => {
    expect(oneServiceRefusal('production', '<x>', set)).toContain(
      'has no service &lt;x&gt;. Its services: app ×2, worker.',
    );
    expect(oneServiceRefusal('production', '<x>', set, true)).toContain(
      'has no service &lt;x&gt;. Its services: app ×2, worker.',
    );
    expect(oneServiceRefusal('production', 'worker', [set[0]!])).toContain(
      'runs one service, app (no lugh.yml)',
    );
    expect(oneServiceRefusal('production', 'app', [set[0]!], true)).toContain(
      'one service alone is the whole thing',
    );
    // A set of one service (app ×2): alone is the whole thing too.
    expect(oneServiceRefusal('production', 'app', set.slice(0, 2), true)).toBe(
      'production runs one service, app ×2: <code>/rollback production</code> is the whole thing.',
    );
  });
  it('`alone` lets a service of a set of several go on, to its warning', () => {
    expect(oneServiceRefusal('production', 'worker', set, true)).toBeUndefined();
    const warning = aloneWarning({
      env: 'production',
      service: 'worker',
      sha: 'a'.repeat(40),
      setSha: 'b'.repeat(40),
      others: 'app ×2',
      irreversible: [{ name: '0042_drop_x', deploymentId: 9, sha: 'b'.repeat(40), why: 'drops x' }],
    });
    expect(warning).toContain('worker will run <code>aaaaaaa</code> while app ×2 run <code>bbbbbbb</code>');
    expect(warning).toContain(
      'Migrations are not undone: the database stays as <code>bbbbbbb</code> left it',
    );
    expect(warning).toContain('cannot be undone: <code>0042_drop_x</code>');
    expect(warning).toContain('The next deploy of the set');
  });
});
