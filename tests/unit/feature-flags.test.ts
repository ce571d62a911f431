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

  describe('previews', () => {
    const previews = (r: ReturnType<typeof resolveFlags>) => r.flags.find((f) => f.key === 'previews');
    const template = { PREVIEW_URL_TEMPLATE: 'https://pr-{n}.preview.example.com' };

    it('is on for staging by default while PREVIEW_URL_TEMPLATE is set, and says why', () => {
      expect(previews(resolveFlags('staging', template))).toEqual({
        key: 'previews',
        enabled: true,
        source: 'default',
        defaultFrom: 'PREVIEW_URL_TEMPLATE',
      });
      expect(previews(resolveFlags('staging', { PREVIEW_URL_TEMPLATE: '  ' }))).toMatchObject({
        enabled: false,
        source: 'default',
        defaultFrom: 'PREVIEW_URL_TEMPLATE',
      });
      expect(previews(resolveFlags('staging', {}))?.enabled).toBe(false);
    });

    it('follows FEATURE_PREVIEWS over the template, either way', () => {
      const off = resolveFlags('staging', { ...template, FEATURE_PREVIEWS: 'false' });
      expect(previews(off)).toEqual({ key: 'previews', enabled: false, source: 'env' });
      expect(off.problems).toEqual([]);
      expect(previews(resolveFlags('staging', { FEATURE_PREVIEWS: 'on' }))?.enabled).toBe(true);
    });

    it('is never on in production: not by the template, and FEATURE_PREVIEWS=true is a problem saying so', () => {
      const quiet = resolveFlags('production', template);
      expect(previews(quiet)?.enabled).toBe(false);
      expect(quiet.problems).toEqual([]);
      const asked = resolveFlags('production', { FEATURE_PREVIEWS: 'true' });
      expect(previews(asked)?.enabled).toBe(false);
      expect(asked.problems).toEqual([
        {
          variable: 'FEATURE_PREVIEWS',
          message:
            "is on, but only staging runs previews: APP_ENV=production never does. Remove FEATURE_PREVIEWS (or set it to false) in production's env file.",
        },
      ]);
      expect(resolveFlags('production', { FEATURE_PREVIEWS: 'false' }).problems).toEqual([]);
    });
  });
});
