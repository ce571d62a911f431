// What lugh makes of GitHub's mergeable_state once CI is green, and why a blocked pull
// request is blocked: pure functions of what GitHub said.
import { describe, expect, it } from 'vitest';
import type { BranchRules, CiState } from '../../../src/forge/forge.js';
import { blockersOf, mergeReadiness } from '../../../src/promotion/policy.js';

const pull = (mergeable: boolean | null, mergeableState: string, draft = false) => ({
  mergeable,
  mergeableState,
  draft,
});

describe('mergeReadiness: mergeable_state decides, not mergeable alone', () => {
  it.each([
    [pull(true, 'clean'), 'ready'],
    [pull(true, 'unstable'), 'ready'],
    [pull(true, 'has_hooks'), 'ready'],
    [pull(true, 'blocked'), 'blocked'],
    [pull(true, 'behind'), 'behind'],
    [pull(true, 'draft', true), 'draft'],
    [pull(null, 'draft', true), 'draft'],
    [pull(false, 'dirty'), 'conflicts'],
    [pull(null, 'unknown'), 'ask again'],
    // GitHub sometimes says mergeable before it has worked out the state: ask again.
    [pull(true, 'unknown'), 'ask again'],
  ] as const)('%o is %s', (facts, readiness) => {
    expect(mergeReadiness(facts)).toBe(readiness);
  });
});

describe('blockersOf: what main’s protection still wants', () => {
  const rules = (r: Partial<BranchRules>): BranchRules => ({
    readable: true,
    requiredApprovals: 0,
    requiredChecks: [],
    strict: false,
    ...r,
  });
  const ci: CiState = {
    overall: 'success',
    checks: [
      { name: 'build', kind: 'check_run', state: 'success', detail: 'success' },
      { name: 'e2e', kind: 'check_run', state: 'pending', detail: 'in_progress' },
      { name: 'lint', kind: 'status', state: 'failure', detail: 'failure' },
    ],
  };

  it('names missing approving reviews with the count required and had', () => {
    expect(blockersOf({ rules: rules({ requiredApprovals: 2 }), approvals: 1, ci })).toEqual([
      { kind: 'reviews', required: 2, approvals: 1 },
    ]);
  });

  it('names each required check that has not reported, is pending or failing; green ones are not named', () => {
    expect(
      blockersOf({
        rules: rules({ requiredChecks: ['build', 'security-scan', 'e2e', 'lint'] }),
        approvals: 0,
        ci,
      }),
    ).toEqual([
      { kind: 'check', name: 'security-scan', state: 'not reported' },
      { kind: 'check', name: 'e2e', state: 'pending' },
      { kind: 'check', name: 'lint', state: 'failing' },
    ]);
  });

  it('says when nothing lugh can read explains it (rulesets, or a token that may not read protection)', () => {
    expect(blockersOf({ rules: rules({ requiredApprovals: 1 }), approvals: 1, ci })).toEqual([
      { kind: 'unexplained', rulesReadable: true },
    ]);
    expect(blockersOf({ rules: rules({ readable: false }), approvals: 0, ci })).toEqual([
      { kind: 'unexplained', rulesReadable: false },
    ]);
  });
});
