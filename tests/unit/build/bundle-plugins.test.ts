import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeUrlForNodeFetch, pgOnNode, refusedOutDir } from '../../../deploy/bundle.js';

const REPO = path.join(import.meta.dirname, '../../..');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (under: string, prefix: string) => {
  const dir = mkdtempSync(path.join(under, prefix));
  dirs.push(dir);
  return dir;
};

/**
 * Bundles a one-line CommonJS entry (written into `root`, resolving packages from there) with
 * `plugin`, as the build does; returns the bundle's text, also written to `root/out.cjs`.
 */
async function bundled(root: string, entry: string, plugin: Plugin, external: string[] = []) {
  writeFileSync(path.join(root, 'entry.cjs'), `${entry}\n`);
  const outfile = path.join(root, 'out.cjs');
  await build({
    entryPoints: [path.join(root, 'entry.cjs')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    plugins: [plugin],
    external,
    logLevel: 'silent',
  });
  return readFileSync(outfile, 'utf8');
}

describe('the bundle answers pg that it runs on Node', () => {
  /** A root whose pg/lib/stream.js holds `source`; pg's Cloudflare socket would be a package of its own. */
  const bundleStream = (source: string) => {
    const root = tempDir(tmpdir(), 'lugh-bundle-pg-');
    mkdirSync(path.join(root, 'node_modules/pg/lib'), { recursive: true });
    writeFileSync(path.join(root, 'node_modules/pg/lib/stream.js'), source);
    return bundled(root, "module.exports = require('pg/lib/stream.js');", pgOnNode, ['pg-cloudflare']);
  };

  it("skips the installed pg's Cloudflare check (which builds a fetch Response) and keeps its Node streams", async () => {
    const installed = readFileSync(createRequire(import.meta.url).resolve('pg/lib/stream.js'), 'utf8');
    const out = await bundleStream(installed);
    expect(out).not.toMatch(/if \(isCloudflareRuntime\(\)\)/);
    expect(out).toContain('if (false) {');
    expect(out).toContain('require("net")');
  });

  it('fails the build, naming the plugin, when pg no longer asks that way', async () => {
    const changed = 'function getStreamFuncs() { return isWorkerd() ? a() : b(); }\n';
    await expect(bundleStream(changed)).rejects.toThrow(/no longer holds .*pgOnNode in deploy\/bundle\.ts/);
  });
});

describe("the bundle gives node-fetch node's URL in place of whatwg-url", () => {
  it('leaves whatwg-url and tr46 out, and the bundled node-fetch still fetches (path and query as sent)', async () => {
    // Under the repository, so that node-fetch resolves from its node_modules.
    const root = tempDir(REPO, '.lugh-bundle-test-');
    const text = await bundled(root, "module.exports = require('node-fetch');", nodeUrlForNodeFetch);
    expect(text).not.toContain('node_modules/tr46');
    expect(text).not.toContain('node_modules/whatwg-url');
    expect(text).toContain('node-url:whatwg-url');

    const server = createServer((req, res) => res.end(`you asked ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const fetch = createRequire(import.meta.url)(path.join(root, 'out.cjs')) as (
        url: string,
      ) => Promise<{ text(): Promise<string> }>;
      const answer = await fetch(`http://127.0.0.1:${port}/bot123:abc/sendMessage?x=%C3%A9 y`);
      expect(await answer.text()).toBe('you asked /bot123:abc/sendMessage?x=%C3%A9%20y');
    } finally {
      server.close();
    }
  });

  it('leaves whatwg-url as it is for any other package', async () => {
    const root = tempDir(REPO, '.lugh-bundle-test-');
    const text = await bundled(root, "module.exports = require('whatwg-url');", nodeUrlForNodeFetch);
    expect(text).toContain('node_modules/whatwg-url');
  });
});

describe('the folder the bundle is written to (emptied first)', () => {
  it('is never the checkout or a folder above it', () => {
    expect(refusedOutDir('/work/lugh', '/work/lugh')).toMatch(/holds the checkout/);
    expect(refusedOutDir('/work', '/work/lugh')).toMatch(/holds the checkout/);
    expect(refusedOutDir('/', '/work/lugh')).toMatch(/holds the checkout/);
  });

  it('may be a folder inside the checkout or elsewhere', () => {
    expect(refusedOutDir('/work/lugh/dist', '/work/lugh')).toBeUndefined();
    expect(refusedOutDir('/work/lugh/.test-dist-x1', '/work/lugh')).toBeUndefined();
    expect(refusedOutDir('/tmp/lugh-bundle', '/work/lugh')).toBeUndefined();
    expect(refusedOutDir('/work/lugh-other', '/work/lugh')).toBeUndefined();
  });
});
