import { describe, expect, it } from 'vitest';
import { FLAGS, type FlagKey, flagKeys, resolveFlags } from '../../src/config/feature-flags.js';

describe('feature flags', () => {
  it('every dependency names a known flag', () => {
    for (const key of flagKeys) {
      for (const dep of FLAGS[key].dependsOn) expect(flagKeys).toContain(dep);
    }
  });

  it('takes the environment’s default unless FEATURE_<KEY> says otherwise', () => {
    const get = (r: ReturnType<typeof resolveFlags>, key: FlagKey) => r.flags.find((f) => f.key === key);
    const prod = resolveFlags('production', {});
    expect(get(prod, 'deploy_on_push')).toEqual({ key: 'deploy_on_push', enabled: false, source: 'default' });
    const overridden = resolveFlags('production', { FEATURE_DEPLOY_ON_PUSH: 'yes' });
    expect(get(overridden, 'deploy_on_push')).toEqual({
      key: 'deploy_on_push',
      enabled: true,
      source: 'env',
    });
    expect(overridden.problems).toEqual([]);
  });

  it('switches a flag off, with a warning, when a flag it depends on is off', () => {
    const r = resolveFlags('staging', { FEATURE_PROMOTE: 'off', FEATURE_RELEASE_TAGS: 'on' });
    expect(r.flags.find((f) => f.key === 'release_tags')).toEqual({
      key: 'release_tags',
      enabled: false,
      source: 'env',
      disabledBy: 'promote',
    });
    expect(r.warnings).toEqual(
      expect.arrayContaining([expect.stringContaining('FEATURE_RELEASE_TAGS is off')]),
    );
  });

  it('reports a value that is not a boolean word, and unknown FEATURE_ variables', () => {
    const r = resolveFlags('staging', { FEATURE_PROMOTE: 'maybe', FEATURE_NOPE: '1' });
    expect(r.problems.map((p) => p.variable).sort()).toEqual(['FEATURE_NOPE', 'FEATURE_PROMOTE']);
  });
});
