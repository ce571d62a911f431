import { describe, expect, it } from 'vitest';
import { renderAudit, renderGitHubSetup } from '../../../src/bot/features/doctor.js';
import type { AuditReport, CheckResult } from '../../../src/doctor/audit.js';
import { setupReport } from '../../../src/forge/setup-check.js';

const report = (checks: CheckResult[]): AuditReport => ({
  staging: { env: 'staging', containerName: 'lugh-staging-app' },
  production: { env: 'production', containerName: 'lugh-prod-app' },
  checks,
  failed: checks.filter((c) => !c.ok).length,
});

const check = (i: number, ok: boolean, evidence: string): CheckResult => ({
  id: `check-${i}`,
  title: `Check number ${i} <holds>`,
  ok,
  evidence,
  fix: ok ? undefined : `fix number ${i}: ${'do this & that, '.repeat(8)}`,
});

describe('renderAudit', () => {
  it('fits a passing audit in one message: a heading and a line with evidence per check', () => {
    const messages = renderAudit(report([check(1, true, 'all good'), check(2, true, 'fine too')]));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toBe(
      [
        '🩺 <b>Isolation audit</b> of lugh-staging-app and lugh-prod-app: ✅ all 2 passed',
        '',
        '✅ <b>Check number 1 &lt;holds&gt;</b>',
        '<i>all good</i>',
        '',
        '✅ <b>Check number 2 &lt;holds&gt;</b>',
        '<i>fine too</i>',
      ].join('\n'),
    );
  });

  it('on Swarm: says it audited the services, marks a skipped check as skipped, never as passed', () => {
    const checks: CheckResult[] = [
      check(1, true, 'all good'),
      { id: 'services', title: 'Sets', ok: true, skipped: true, evidence: 'no meaning on Swarm' },
    ];
    const [text] = renderAudit({
      ...report(checks),
      staging: { env: 'staging', containerName: 'lugh-staging_app' },
      production: { env: 'production', containerName: 'lugh-prod_app' },
      skipped: 1,
      runtime: 'swarm',
    });
    expect(text).toContain(
      '🩺 <b>Isolation audit</b> of the Swarm services lugh-staging_app and lugh-prod_app: ✅ 1 passed, 1 skipped',
    );
    expect(text).toContain('⏭️ <b>Sets (skipped)</b>\n<i>no meaning on Swarm</i>');
  });

  it('splits a long report between checks, every message under Telegram’s limit, no check lost', () => {
    const checks = Array.from({ length: 12 }, (_, i) => check(i + 1, false, `evidence ${'x'.repeat(900)}`));
    const messages = renderAudit(report(checks));
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(3_900);
    expect(messages[0]).toMatch(/^🩺 <b>Isolation audit<\/b> .*: ❌ 12 failed, 0 passed/);
    const all = messages.join('\n');
    for (const c of checks)
      expect(all.split(`<b>${c.title.replace('<', '&lt;').replace('>', '&gt;')}</b>`)).toHaveLength(2);
    // Long evidence is cut, never the fix.
    expect(all).toContain(`${'x'.repeat(200)}`);
    expect(all).not.toContain('x'.repeat(300));
    expect(all).toContain('Fix: fix number 12: do this &amp; that');
  });
});

describe('renderGitHubSetup', () => {
  it('shows lugh github check’s findings like the audit: counts, a mark per level, evidence and fix', () => {
    const [message, ...more] = renderGitHubSetup(
      setupReport('acme/app', [
        {
          id: 'token',
          title: 'the token',
          level: 'ok',
          evidence: 'a fine-grained personal access token of ada',
        },
        {
          id: 'permission-deployments',
          title: 'Deployments: read and write',
          level: 'fail',
          evidence: 'POST …/deployments answered 403 Resource not accessible by personal access token',
          fix: 'Give GITHUB_TOKEN (or its GitHub App) “Deployments: read and write” on acme/app.',
        },
        {
          id: 'protection-strict',
          title: 'branches must be up to date',
          level: 'warn',
          evidence: 'develop is behind main after each promotion',
          fix: 'Merge main into develop after each promotion <or> turn it off',
        },
      ]),
    );
    expect(more).toEqual([]);
    expect(message).toBe(
      [
        '🐙 <b>GitHub set-up</b> of acme/app: ❌ 1 failed, ⚠️ 1 to look at, 1 passed',
        '',
        '✅ <b>the token</b>',
        '<i>a fine-grained personal access token of ada</i>',
        '',
        '❌ <b>Deployments: read and write</b>',
        '<i>POST …/deployments answered 403 Resource not accessible by personal access token</i>',
        'Fix: Give GITHUB_TOKEN (or its GitHub App) “Deployments: read and write” on acme/app.',
        '',
        '⚠️ <b>branches must be up to date</b>',
        '<i>develop is behind main after each promotion</i>',
        'Fix: Merge main into develop after each promotion &lt;or&gt; turn it off',
      ].join('\n'),
    );
  });
});
