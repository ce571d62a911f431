// The reference for lugh's idle memory: a node process that loads the libraries `lugh start`
// loads at start-up (not @resvg/resvg-js, which lugh loads on the first chart, nor
// node-pg-migrate, which it loads only for a database that is behind) and then does
// nothing. Compiled and run by bench/bot.ts with plain node, as lugh is.
await Promise.all([
  import('grammy'),
  import('@grammyjs/conversations'),
  import('@grammyjs/auto-retry'),
  import('bullmq'),
  import('dockerode'),
  import('ioredis'),
  import('pg'),
  import('octokit'),
  import('pino'),
  import('zod'),
  import('tar-stream'),
]);
console.log('loaded');
setInterval(() => {}, 60_000);
process.once('SIGTERM', () => process.exit(0));
