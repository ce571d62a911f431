// The production build of lugh: src/cli.ts and everything it imports, node_modules included,
// as one graph of ES modules in dist/ (cli.js and the chunks its lazy imports load), which is
// what the image runs, the tests start and the bench measures.
//
// Why a bundle and not tsc's one file per module: `lugh start` loaded ~1,100 files before its
// first reply, and the loading (resolving each specifier, reading package.json files, lexing
// every CommonJS module for its exports) was most of the start-up (a CPU profile of
// `node --cpu-prof dist/cli.js start`: the module loader, cjs-module-lexer and ESM linking
// over half of its ~1 s under the profiler). Bundled, spawn → first reply went from ~595 ms
// to ~370 ms in `npm run bench` (BENCH_ONLY=bot). Lazy imports stay lazy: each is a chunk.
//
// Run as `npm run build` (after tsc has type-checked src/): node --import tsx deploy/bundle.ts [outDir]
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { PACKAGE_ROOT } from '../src/package-root.js';


/**
 * Left in node_modules and loaded from there at run time, because bundling would break them:
 * dockerode's BuildKit client reads its .proto files from beside its own code, and ssh2
 * (under it) tries an optional native addon; @resvg/resvg-js is a native addon; node-pg-migrate
 * imports the migration files by path; pg-native is pg's optional native client, never installed;
 * msgpackr (BullMQ's) finds its native string extractor beside its own code (bundled, it quietly
 * falls back to plain JS).
 */
export const EXTERNAL = ['dockerode', '@resvg/resvg-js', 'node-pg-migrate', 'pg-native', 'msgpackr'] as const;

/**
 * CommonJS code in an ES module bundle calls require() for node's own modules (esbuild keeps
 * those calls): give every chunk one, made for its own location.
 */
const REQUIRE_BANNER =
  "import { createRequire as __lughCreateRequire } from 'node:module'; const require = __lughCreateRequire(import.meta.url);";

/**
 * pg asks, as it loads, whether it runs in a Cloudflare Worker: on a Node without a global
 * `navigator` (Node 20, the image's) by constructing a fetch Response, which loads node's
 * fetch (undici, with http2) at every start: ~20 ms of the start-up's CPU in a profile, for
 * an answer that is always no here. The bundle answers it. The exact text is required: a pg
 * whose stream.js reads otherwise fails the build rather than bundling something untried.
 */
export const pgOnNode: Plugin = {
  name: 'pg-on-node',
  setup(on) {
    on.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (file) => {
      const source = readFileSync(file.path, 'utf8');
      const asked = '  if (isCloudflareRuntime()) {';
      if (source.split(asked).length !== 2) {
        return { errors: [{ text: `pg's lib/stream.js no longer holds "${asked.trim()}": see pgOnNode in deploy/bundle.ts` }] };
      }
      return { contents: source.replace(asked, '  if (false) {'), loader: 'js' };
    });
  },
};

/**
 * node-fetch (grammY's HTTP client on Node) requires the whatwg-url package as it loads, for
 * runtimes whose `url` module has no URL class, and uses node's own URL wherever there is one
 * (`Url.URL || whatwgUrl.URL`). Loading it cost ~10 ms of every start (its tr46 dependency
 * builds a Unicode mapping table of ~260 KB): the bundle gives node-fetch node's URL, the
 * same WHATWG URL standard, in its place.
 */
export const nodeUrlForNodeFetch: Plugin = {
  name: 'node-url-for-node-fetch',
  setup(on) {
    on.onResolve({ filter: /^whatwg-url$/ }, (args) =>
      /[\\/]node_modules[\\/]node-fetch[\\/]/.test(args.importer)
        ? { path: 'whatwg-url', namespace: 'node-url' }
        : undefined,
    );
    on.onLoad({ filter: /.*/, namespace: 'node-url' }, () => ({
      contents: "module.exports = { URL: require('node:url').URL };",
      loader: 'js',
    }));
  },
};

/**
 * Why `out` (absolute) cannot be the bundle's folder, which is emptied first; undefined when
 * it can. Never the checkout or a folder above it: `bundle.ts .` would delete the checkout.
 */
export function refusedOutDir(out: string, root = PACKAGE_ROOT): string | undefined {
  if (!path.relative(out, root).startsWith('..'))
    return `will not bundle into ${out}: the folder is emptied first, and it holds the checkout; name a folder of its own (dist)`;
  return undefined;
}

/** Bundles lugh into `outDir` (emptied first); returns the path of its cli.js. */
export async function bundle(outDir: string): Promise<string> {
  const out = path.resolve(outDir);
  const refused = refusedOutDir(out);
  if (refused) throw new Error(refused);
  rmSync(out, { recursive: true, force: true });
  await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: [path.join(PACKAGE_ROOT, 'src/cli.ts')],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...EXTERNAL],
    plugins: [pgOnNode, nodeUrlForNodeFetch],
    banner: { js: REQUIRE_BANNER },
    // Class and function names as written: errors are told apart by name (and logged with it).
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
  return path.join(out, 'cli.js');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(PACKAGE_ROOT, 'dist'));
  const cli = await bundle(outDir);
  console.log(`bundled ${path.relative(process.cwd(), cli)}`);
}
