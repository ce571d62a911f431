import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeUrlForNodeFetch, pgOnNode } from '../../../deploy/bundle.js';

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

describe("the bundle gives node-fetch node's URL in place of whatwg-url", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves whatwg-url and tr46 out, and the bundled node-fetch still fetches (path and query as sent)', async () => {
    const root = mkdtempSync(path.join(import.meta.dirname, '../../../.lugh-bundle-test-'));
    dirs.push(root);
    const entry = path.join(root, 'entry.cjs');
    writeFileSync(entry, "module.exports = require('node-fetch');\n");
    const out = path.join(root, 'out.cjs');
    await build({
      entryPoints: [entry],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      plugins: [nodeUrlForNodeFetch],
      logLevel: 'silent',
    });
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('node_modules/tr46');
    expect(text).not.toContain('node_modules/whatwg-url');
    expect(text).toContain('node-url:whatwg-url');

    const server = createServer((req, res) => res.end(`you asked ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const fetch = createRequire(import.meta.url)(out) as (
        url: string,
      ) => Promise<{ text(): Promise<string> }>;
      const answer = await fetch(`http://127.0.0.1:${port}/bot123:abc/sendMessage?x=%C3%A9 y`);
      expect(await answer.text()).toBe('you asked /bot123:abc/sendMessage?x=%C3%A9%20y');
    } finally {
      server.close();
    }
  });

  it('leaves whatwg-url as it is for any other package', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lugh-bundle-url-'));
    dirs.push(root);
    const entry = path.join(root, 'entry.js');
    writeFileSync(entry, "module.exports = require('whatwg-url');\n");
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      absWorkingDir: path.join(import.meta.dirname, '../../..'),
      nodePaths: [path.join(import.meta.dirname, '../../../node_modules')],
      plugins: [nodeUrlForNodeFetch],
      logLevel: 'silent',
    });
    expect(result.outputFiles[0]!.text).toContain('node_modules/whatwg-url');
  });
});
