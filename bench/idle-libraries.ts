// The reference for lugh's idle memory: a node process that loads the libraries an idle
// `lugh start` has loaded 3 s after its first reply, as the bench runs it (bullmq and
// dockerode are loaded just after start-up; not @resvg/resvg-js, which lugh loads on the
// first chart, nor node-pg-migrate, which it loads only for a database that is behind, nor
// octokit, which it loads on the first GitHub call and never without GITHUB_TOKEN, as in
// the bench) and then does nothing. Compiled with tsc and run by bench/bot.ts with plain node,
// with the image's NODE_OPTIONS. The list was checked against the scripts an idle lugh had
// parsed (the inspector's Debugger.scriptParsed) when lugh was compiled the same way. Bundled
// (deploy/bundle.ts), lugh loads less of them than this does: only the parts of zod it uses,
// no whatwg-url or tr46 (node-fetch gets node's URL) and not node's fetch (pg's Cloudflare
// check). So this reference is somewhat generous.
await Promise.all([
  import('grammy'),
  import('@grammyjs/conversations'),
  import('@grammyjs/auto-retry'),
  import('bullmq'),
  import('dockerode'),
  import('ioredis'),
  import('pg'),
  import('pino'),
  import('zod'),
  import('tar-stream'),
]);
console.log('loaded');
setInterval(() => {}, 60_000);
process.once('SIGTERM', () => process.exit(0));
