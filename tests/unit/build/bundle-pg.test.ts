import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { pgOnNode } from '../../../deploy/bundle.js';

/** Bundles `entry` (which requires pg/lib/stream.js under `root`) with the plugin; the output or the error. */
async function bundleStream(root: string) {
  const entry = path.join(root, 'entry.js');
  writeFileSync(entry, "module.exports = require('pg/lib/stream.js');\n");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    plugins: [pgOnNode],
    // Only pg's file is under the temporary root; its Cloudflare socket would be a package of its own.
    external: ['pg-cloudflare'],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

describe('the bundle answers pg that it runs on Node', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const withStream = (source: string) => {
    const root = mkdtempSync(path.join(tmpdir(), 'lugh-bundle-pg-'));
    dirs.push(root);
    mkdirSync(path.join(root, 'node_modules/pg/lib'), { recursive: true });
    writeFileSync(path.join(root, 'node_modules/pg/lib/stream.js'), source);
    return root;
  };

  it("skips the installed pg's Cloudflare check (which builds a fetch Response) and keeps its Node streams", async () => {
    const installed = readFileSync(createRequire(import.meta.url).resolve('pg/lib/stream.js'), 'utf8');
    const out = await bundleStream(withStream(installed));
    expect(out).not.toMatch(/if \(isCloudflareRuntime\(\)\)/);
    expect(out).toContain('if (false) {');
    expect(out).toContain('require("net")');
  });

  it('fails the build, naming the plugin, when pg no longer asks that way', async () => {
    const changed = 'function getStreamFuncs() { return isWorkerd() ? a() : b(); }\n';
    await expect(bundleStream(withStream(changed))).rejects.toThrow(
      /no longer holds .*pgOnNode in deploy\/bundle\.ts/,
    );
  });
});
