import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, packageRootFrom } from '../../src/package-root.js';

describe('package root', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const packageAt = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lugh-root-'));
    dirs.push(root);
    writeFileSync(path.join(root, 'package.json'), '{}');
    mkdirSync(path.join(root, 'migrations'));
    return root;
  };

  it('is the checkout when run from the sources', () => {
    expect(PACKAGE_ROOT).toBe(path.resolve(import.meta.dirname, '../..'));
  });

  it('is found from any depth below it: dist (the bundle), dist/app (a compiled tree), src/store (the sources)', () => {
    const root = packageAt();
    for (const depth of ['dist', 'dist/app', 'src/store']) {
      const dir = path.join(root, depth);
      mkdirSync(dir, { recursive: true });
      expect(packageRootFrom(dir)).toBe(root);
    }
  });

  it('skips a folder with a package.json but no migrations/ (a dependency of its own)', () => {
    const root = packageAt();
    const inner = path.join(root, 'node_modules/some-package/lib');
    mkdirSync(inner, { recursive: true });
    writeFileSync(path.join(root, 'node_modules/some-package/package.json'), '{}');
    expect(packageRootFrom(inner)).toBe(root);
  });

  it('says what it looked for when nothing above holds both', () => {
    const lone = mkdtempSync(path.join(tmpdir(), 'lugh-lone-'));
    dirs.push(lone);
    expect(() => packageRootFrom(lone)).toThrow(/package\.json and migrations\/\) is not above .*lugh-lone-/);
  });
});
