import { describe, expect, it } from 'vitest';
import { isValidRef, parseDuration, parseEnv } from '../../../src/bot/deploys/parse-words.js';
import {
  outcomeButtons,
  renderHistory,
  renderOutcome,
  renderProgress,
} from '../../../src/bot/deploys/render.js';
import type { Deployment } from '../../../src/store/deployments.js';

const at = new Date('2026-11-23T10:00:00Z');
const deployment = (over: Partial<Deployment> = {}): Deployment => ({
  id: 7,
  env: 'production',
  ref: 'main',
  sha: 'abcdef1234567890abcdef1234567890abcdef12',
  trigger: 'manual',
  requestedBy: 1001,
  status: 'running',
  jobId: null,
  chatId: 1001,
  progressMessageId: null,
  githubDeploymentId: null,
  image: null,
  imageId: null,
  treeSha: null,
  imageOrigin: null,
  previousSha: null,
  step: null,
  error: null,
  confirmExpiresAt: null,
  createdAt: at,
  startedAt: at,
  finishedAt: null,
  ...over,
});

describe('the deploy progress message', () => {
  it('shows a bar of finished steps and a line per step, marked by its state', () => {
    const text = renderProgress(deployment(), [
      { step: 'resolve', status: 'succeeded', detail: 'abcdef1234567890abcdef1234567890abcdef12' },
      { step: 'build', status: 'succeeded', detail: 'lugh:production-abcdef123456 (reused)' },
      { step: 'backup', status: 'skipped', detail: 'not backed up' },
      { step: 'migrate', status: 'running', detail: null },
    ]);
    expect(text.split('\n')).toEqual([
      '🚀 <b>Deploy #7</b> · production · <code>main</code> at <code>abcdef1</code>',
      '▰▰▰▱▱▱▱▱▱▱ 3/10 · migrate',
      '✅ resolve <i>abcdef1</i>',
      '✅ build <i>lugh:production-abcdef123456 (reused)</i>',
      '⏭ backup <i>not backed up</i>',
      '⏳ migrate',
      '▫️ start',
      '▫️ health',
      '▫️ switch',
      '▫️ verify',
      '▫️ cleanup',
      '▫️ record',
    ]);
  });

  it('a promotion’s deploy (its ref is the commit itself) heads from the version running before to the new one, never from a commit to itself', () => {
    const sha = 'b37705b1234567890abcdef1234567890abcdef1';
    const promoted = deployment({ ref: sha, sha, trigger: 'promotion' });
    const [first] = renderProgress(promoted, [], '91a46ac1234567890abcdef1234567890abcdef1').split('\n');
    expect(first).toBe('🚀 <b>Deploy #7</b> · production · <code>91a46ac</code> → <code>b37705b</code>');
    const [firstEver] = renderProgress(promoted, []).split('\n');
    // Nothing recorded before it: the new version alone.
    expect(firstEver).toBe('🚀 <b>Deploy #7</b> · production · <code>b37705b</code>');
    // A branch asked for by hand keeps its name: main, at the commit it resolved to.
    const [manual] = renderProgress(deployment(), [], '91a46ac1234567890abcdef1234567890abcdef1').split('\n');
    expect(manual).toBe(
      '🚀 <b>Deploy #7</b> · production · <code>91a46ac</code> → <code>main</code> at <code>abcdef1</code>',
    );
  });

  it('escapes what it shows and shortens long details', () => {
    const text = renderProgress(deployment({ ref: '<b>x</b>' }), [
      { step: 'resolve', status: 'failed', detail: `${'x'.repeat(100)}<script>` },
    ]);
    expect(text).toContain('<code>&lt;b&gt;x&lt;/b&gt;</code>');
    expect(text).toContain(`❌ resolve <i>${'x'.repeat(77)}…</i>`);
  });
});

describe('the deploy result message', () => {
  const redact = (t: string) => t.replaceAll('s3cret-token-value', '[redacted]');

  it('says what runs now and how long it took', () => {
    const text = renderOutcome(
      deployment(),
      { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
      redact,
      new Date(at.getTime() + 95_000),
    );
    expect(text).toBe('✅ <b>Deploy #7</b> done in 1 min 35 s: production runs <code>abcdef1</code>.');
  });

  it('says a rollback of one service alone split the set: that service runs the commit, the others as they did', () => {
    const text = renderOutcome(
      deployment({ trigger: 'rollback', onlyService: 'worker' }),
      { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
      redact,
      new Date(at.getTime() + 95_000),
    );
    expect(text).toBe(
      '✅ <b>Deploy #7</b> done in 1 min 35 s: production’s worker alone runs <code>abcdef1</code>; the other services run as they did, until the next deploy of the set.',
    );
  });

  it('says where production’s image came from: the very image staging ran, or a new build and why', () => {
    const done = (over: Partial<Deployment>) =>
      renderOutcome(
        deployment(over),
        { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
        redact,
        new Date(at.getTime() + 95_000),
      );
    const reused = {
      kind: 'reused',
      fromEnv: 'staging',
      fromDeployment: 41,
      since: new Date('2026-11-23T08:30:00Z'),
    } as const;
    expect(done({ imageOrigin: reused })).toBe(
      '✅ <b>Deploy #7</b> done in 1 min 35 s: production runs <code>abcdef1</code>.\n📦 same image staging ran since 2026-11-23 08:30 UTC',
    );
    expect(done({ imageOrigin: { kind: 'built' } })).toContain('\n📦 built new: tree differs');
    expect(done({ imageOrigin: { kind: 'rebuilt' } })).toContain(
      '\n📦 built new: the image staging ran is gone',
    );
    // Nothing compared (staging's own deploys): nothing said.
    expect(done({ imageOrigin: null })).not.toContain('📦');
  });

  it('a promotion’s production report names the PR and the release (linked), who promoted, who approved, CI’s time and the image staging ran', () => {
    const promoted = deployment({
      trigger: 'promotion',
      requestedByName: '@bob',
      context: {
        promotionId: 4,
        pr: { number: 12, url: 'https://github.com/o/r/pull/12' },
        release: { tag: 'v1.4.0', url: 'https://github.com/o/r/releases/tag/v1.4.0' },
        promotedBy: '@ada',
        approvedBy: '@bob',
        ciMs: 190_000,
      },
      imageOrigin: {
        kind: 'reused',
        fromEnv: 'staging',
        fromDeployment: 41,
        since: new Date('2026-11-23T08:30:00Z'),
      },
    });
    const text = renderOutcome(
      promoted,
      { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
      redact,
      new Date(at.getTime() + 95_000),
    );
    expect(text.split('\n')).toEqual([
      '✅ <b>Deploy #7</b> done in 1 min 35 s: production runs <code>abcdef1</code> (v1.4.0).',
      '🔀 <a href="https://github.com/o/r/pull/12">PR #12</a> · 🏷 <a href="https://github.com/o/r/releases/tag/v1.4.0">v1.4.0</a> · promoted by @ada, approved by @bob · CI 3 min 10 s',
      '📦 same image staging ran since 2026-11-23 08:30 UTC',
    ]);
    // A failure keeps the context: which promotion failed matters as much.
    const failed = renderOutcome(
      promoted,
      { status: 'failed', step: 'health', message: 'unhealthy' },
      redact,
    );
    expect(failed).toContain('\n🔀 <a href="https://github.com/o/r/pull/12">PR #12</a>');
    // /history names the version too: its tag and short SHA.
    expect(renderHistory('production', [{ ...promoted, status: 'succeeded' }], at)).toContain(
      '✅ #7 <code>abcdef1</code> (v1.4.0) by @ada (promotion, approved by @bob)',
    );
    // The same person promoting and approving is named once.
    expect(
      renderOutcome(
        deployment({ trigger: 'promotion', context: { promotedBy: '@ada', approvedBy: '@ada' } }),
        { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
        redact,
      ),
    ).toContain('\npromoted and approved by @ada');
  });

  it('after a failure or a rollback, one Logs button; a failure after verify says the command that goes back', () => {
    expect(outcomeButtons({ status: 'failed' })).toEqual([{ text: 'Logs', data: 'status:logs' }]);
    expect(outcomeButtons({ status: 'rolled_back' })).toEqual([{ text: 'Logs', data: 'status:logs' }]);
    expect(outcomeButtons({ status: 'succeeded' })).toEqual([]);
    // Failed after verify: the new version runs, so going back is the other button that helps.
    expect(outcomeButtons({ status: 'failed', step: 'record' })).toEqual([
      { text: 'Logs', data: 'status:logs' },
      { text: 'Roll back', data: 'rollback:offer' },
    ]);
    expect(outcomeButtons({ status: 'failed', step: 'health' })).toEqual([
      { text: 'Logs', data: 'status:logs' },
    ]);
    const late = renderOutcome(
      deployment(),
      { status: 'failed', step: 'record', message: 'pg down' },
      redact,
    );
    expect(late).toContain(
      '\nThe new version passed verify and runs; /rollback production offers the release before it.',
    );
    const early = renderOutcome(deployment(), { status: 'failed', step: 'build', message: 'no' }, redact);
    expect(early).not.toContain('/rollback');
  });

  it('on a rollback or a failure: the step, the reason and the last log lines, secrets redacted', () => {
    const rolled = renderOutcome(
      deployment(),
      {
        status: 'rolled_back',
        message: 'lugh:x did not become healthy after the switch; the previous version runs again',
        logTail: ['starting', 'token s3cret-token-value rejected: 401 <Unauthorized>'],
      },
      redact,
    );
    expect(rolled).toContain('↩️ <b>Deploy #7</b> was rolled back: lugh:x did not become healthy');
    expect(rolled).toContain('<pre>starting\ntoken [redacted] rejected: 401 &lt;Unauthorized&gt;</pre>');
    expect(rolled).not.toContain('s3cret-token-value');
    const failed = renderOutcome(
      deployment(),
      { status: 'failed', step: 'build', message: 'no s3cret-token-value' },
      redact,
    );
    expect(failed).toBe('❌ <b>Deploy #7</b> failed at build: no [redacted]');
  });

  it('a rolled-back or failed deploy that applied an irreversible migration says it stays applied; a success does not', () => {
    const rolled = renderOutcome(
      deployment(),
      { status: 'rolled_back', message: 'unhealthy' },
      redact,
      new Date(),
      ['0010_drop_x'],
      { backedUp: true },
    );
    expect(rolled).toContain(
      '⚠️ Its migration <code>0010_drop_x</code> cannot be undone and stays applied: the version running now runs on the migrated database. /restore offers the backup taken before it.',
    );
    const ok = renderOutcome(
      deployment(),
      { status: 'succeeded', sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'ok' },
      redact,
      new Date(),
      ['0010_drop_x'],
    );
    expect(ok).not.toContain('cannot be undone');
  });

  it('offers /restore after an irreversible migration only when the deploy took a backup', () => {
    const unbacked = renderOutcome(
      deployment(),
      { status: 'rolled_back', message: 'unhealthy' },
      redact,
      new Date(),
      ['0010_drop_x'],
      { backedUp: false },
    );
    expect(unbacked).not.toContain('/restore offers');
    expect(unbacked).toContain('No backup was taken before this deploy, so there is none to restore.');
  });
});

describe('/history', () => {
  it('lists deployments newest first: what, by whom, when, result, duration', () => {
    const now = new Date(at.getTime() + 3_600_000);
    const text = renderHistory(
      'production',
      [
        deployment({
          id: 9,
          status: 'rolled_back',
          trigger: 'promotion',
          finishedAt: new Date(at.getTime() + 80_000),
        }),
        deployment({ id: 8, sha: null, ref: 'hotfix', status: 'failed', trigger: 'push', startedAt: null }),
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      '<b>Last deployments of production</b>',
      '↩️ #9 <code>abcdef1</code> by a promotion · 1 h 0 min ago · rolled back · 1 min 20 s',
      '❌ #8 <code>hotfix</code> by a push · 1 h 0 min ago · failed',
    ]);
    expect(renderHistory('staging', [])).toBe('No deployments of staging yet.');
  });

  it('names people by their Telegram name: who deployed, rolled back, promoted and approved', () => {
    const line = (over: Partial<Deployment>) =>
      renderHistory('production', [deployment(over)], at).split('\n')[1];
    expect(line({ requestedByName: '@ada' })).toContain(' by @ada · ');
    expect(line({ trigger: 'rollback', requestedByName: '@ada' })).toContain(' by @ada (rollback) · ');
    expect(line({ trigger: 'rollback', requestedByName: '@ada', onlyService: 'worker' })).toContain(
      ' by @ada (rollback of worker alone) · ',
    );
    expect(
      line({
        trigger: 'promotion',
        requestedByName: '@bob',
        context: { promotedBy: '@ada', approvedBy: '@bob' },
      }),
    ).toContain(' by @ada (promotion, approved by @bob) · ');
    expect(line({ trigger: 'promotion', context: { promotedBy: '@ada', approvedBy: '@ada' } })).toContain(
      ' by @ada (promotion) · ',
    );
    expect(line({ requestedByName: '<b>Eve</b>' })).toContain(' by &lt;b&gt;Eve&lt;/b&gt; · ');
    // A /deploy prompt nobody answered keeps its number, said as such.
    expect(line({ status: 'awaiting_confirmation', confirmExpiresAt: new Date(at.getTime() - 1) })).toMatch(
      /^❔ #7 .* · not confirmed$/,
    );
  });

  it('says where a successful deploy’s image came from', () => {
    const now = new Date(at.getTime() + 3_600_000);
    const text = renderHistory(
      'production',
      [
        deployment({
          id: 11,
          status: 'succeeded',
          finishedAt: new Date(at.getTime() + 60_000),
          imageOrigin: { kind: 'built' },
        }),
        deployment({
          id: 10,
          status: 'succeeded',
          finishedAt: new Date(at.getTime() + 60_000),
          imageOrigin: { kind: 'reused', fromEnv: 'staging', fromDeployment: 3, since: at },
        }),
      ],
      now,
    );
    expect(text.split('\n').slice(1)).toEqual([
      '✅ #11 <code>abcdef1</code> by user 1001 · 1 h 0 min ago · succeeded · 1 min · built new: tree differs',
      '✅ #10 <code>abcdef1</code> by user 1001 · 1 h 0 min ago · succeeded · 1 min · same image staging ran since 2026-11-23 10:00 UTC',
    ]);
  });
});

describe('deploy command arguments', () => {
  it('reads environments, refs and durations, refusing the rest', () => {
    expect([parseEnv('staging'), parseEnv('PROD'), parseEnv('production'), parseEnv('dev')]).toEqual([
      'staging',
      'production',
      'production',
      undefined,
    ]);
    expect(['develop', 'feature/x-1', 'v1.2.3', 'a'.repeat(40)].every(isValidRef)).toBe(true);
    expect(['../etc', 'a..b', '-rf', 'with space', '', 'x'.repeat(101)].some(isValidRef)).toBe(false);
    expect([parseDuration('30m'), parseDuration('2h'), parseDuration('1d'), parseDuration('90')]).toEqual([
      1_800_000, 7_200_000, 86_400_000, 5_400_000,
    ]);
    expect([
      parseDuration('8d'),
      parseDuration('0m'),
      parseDuration('soon'),
      parseDuration(undefined),
    ]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
