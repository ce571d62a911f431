import { mkdir } from 'node:fs/promises';
import { git } from './git.js';
import { GitRepository, type Signature } from './git-repository.js';

const aoife = { name: 'Aoife Byrne', email: 'aoife@acme.example' };
const cian = { name: 'Cian Walsh', email: 'cian@acme.example' };
const niamh = { name: 'Niamh Kelly', email: 'niamh@acme.example' };

// Fixed dates keep the seeded SHAs the same on every run.
const day = (n: number) => Date.UTC(2026, 0, 5 + n, 9, 30) / 1000;

const packageJson = `{
  "name": "acme-app",
  "version": "1.0.0",
  "private": true,
  "description": "The small service lugh's sandbox promotes and deploys",
  "main": "server.js",
  "scripts": { "start": "node server.js" },
  "engines": { "node": ">=20" }
}
`;

const dockerfile = (files: string) => `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
# The deployer passes the commit being built as GIT_SHA (as for lugh's own image); /version reports it.
ARG GIT_SHA=unknown
ENV NODE_ENV=production COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY ${files} ./
# A numeric user: it exists on every base image, with or without a passwd entry.
USER 1000:1000
EXPOSE 8080
# What a deploy gates on: Docker's health status of this check. A failed answer counts at
# once; the long timeout only spares a check that starts slowly on a busy machine. wget
# where the base image has one (a busybox base: a check costs next to nothing), else node
# (node:20-bookworm-slim has no HTTP client but node: node:http, as fetch's client costs more
# CPU to load than the rest of the check).
HEALTHCHECK --interval=2s --timeout=10s --start-period=5s --retries=2 \\
  CMD if command -v wget >/dev/null; then wget -q -O /dev/null "http://127.0.0.1:\${PORT:-8080}/healthz"; \\
  else node -e "require('http').get('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',r=>process.exit(r.statusCode>=200&&r.statusCode<300?0:1)).on('error',()=>process.exit(1))"; fi
CMD ["node", "server.js"]
`;

const dockerignore = `.git
node_modules
`;

function serverJs(options: { logRequests: boolean; startedAt: boolean }): string {
  const lines = [
    `'use strict';`,
    `const http = require('node:http');`,
    ``,
    `const port = Number(process.env.PORT || 8080);`,
    `const commit = process.env.COMMIT_SHA || 'unknown';`,
    ...(options.startedAt ? [`const startedAt = new Date().toISOString();`] : []),
    ``,
    `const server = http.createServer((req, res) => {`,
    ...(options.logRequests
      ? [
          `  const began = process.hrtime.bigint();`,
          `  res.on('finish', () => {`,
          `    const ms = Number(process.hrtime.bigint() - began) / 1e6;`,
          `    console.log(\`\${req.method} \${req.url} \${res.statusCode} \${ms.toFixed(1)}ms\`);`,
          `  });`,
        ]
      : []),
    `  if (req.method === 'GET' && req.url === '/healthz') {`,
    `    res.writeHead(200, { 'content-type': 'application/json' });`,
    `    res.end(JSON.stringify({ ok: true }));`,
    `    return;`,
    `  }`,
    `  if (req.method === 'GET' && req.url === '/version') {`,
    `    res.writeHead(200, { 'content-type': 'application/json' });`,
    options.startedAt
      ? `    res.end(JSON.stringify({ commit, startedAt }));`
      : `    res.end(JSON.stringify({ commit }));`,
    `    return;`,
    `  }`,
    `  res.writeHead(404, { 'content-type': 'application/json' });`,
    `  res.end(JSON.stringify({ error: 'not found' }));`,
    `});`,
    ``,
    `server.listen(port, () => console.log(\`listening on \${port}\`));`,
    ``,
    `// docker stop sends SIGTERM: finish in-flight requests and exit instead of waiting to be killed.`,
    `process.on('SIGTERM', () => {`,
    `  server.close(() => process.exit(0));`,
    `  setTimeout(() => process.exit(0), 5000).unref();`,
    `});`,
    ``,
  ];
  return lines.join('\n');
}

/**
 * The worker the set runs beside the API (lugh.yml's `worker`, the app's image with its own
 * command): a heartbeat logged and written to a file every few seconds; `--check` is its
 * health check (the last heartbeat is recent). SIGTERM (docker stop) ends it with 0; any
 * failure that is not a stop ends it non-zero, so Docker and lugh see it fall.
 */
const workerJs = `'use strict';
const { statSync, writeFileSync } = require('node:fs');

const HEARTBEAT = '/tmp/worker-heartbeat';
const EVERY_MS = 3000;

if (process.argv.includes('--check')) {
  let fresh = false;
  try {
    fresh = Date.now() - statSync(HEARTBEAT).mtimeMs < 5 * EVERY_MS;
  } catch {
    // no heartbeat yet
  }
  process.exit(fresh ? 0 : 1);
}

const commit = (process.env.COMMIT_SHA || 'unknown').slice(0, 7);
let beats = 0;
function beat() {
  beats += 1;
  writeFileSync(HEARTBEAT, String(Date.now()));
  console.log(\`worker \${commit} heartbeat \${beats}\`);
}
beat();
const timer = setInterval(beat, EVERY_MS);

process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log(\`worker \${commit} stopping after \${beats} heartbeats\`);
  process.exit(0);
});
process.on('uncaughtException', (error) => {
  console.error(\`worker \${commit} failed: \${error && error.stack ? error.stack : error}\`);
  process.exit(1);
});
`;

/**
 * The sandbox's set (README: "Several services"): the API twice and the worker before it.
 * The API takes no traffic through a proxy: the sandbox runs none, and its demo containers
 * publish no port; its two replicas are still replaced one at a time.
 */
const serviceFile = `# The services lugh deploys together at one commit, in order: the worker, then the API.
services:
  app:
    replicas: 2
    port: 8080
    # traffic: true needs a proxy in front (DEPLOY_PROXY_ADMIN_URL); the sandbox runs none.
    traffic: false
    health: { http: /healthz }
    order: 20
  worker:
    image_of: app
    command: ["node", "worker.js"]
    health:
      command: ["node", "worker.js", "--check"]
      interval_seconds: 2
    order: 10
`;

function readme(withPort: boolean): string {
  return [
    '# acme app',
    '',
    'A tiny HTTP service: `GET /healthz` answers 200, `GET /version` the commit it was built from.',
    '',
    '    docker build --build-arg COMMIT_SHA=$(git rev-parse HEAD) -t acme-app .',
    '',
    ...(withPort ? ['## Configuration', '', '- `PORT`: the port to listen on (default 8080).', ''] : []),
  ].join('\n');
}

async function commitOn(
  repo: GitRepository,
  branch: string,
  parent: string | undefined,
  files: Record<string, string>,
  message: string,
  person: { name: string; email: string },
  at: number,
): Promise<string> {
  const tree = await repo.treeWithFiles(parent, files);
  const signature: Signature = { ...person, at };
  const sha = await repo.commitTree(tree, parent ? [parent] : [], message, signature, signature);
  await git(repo.dir, ['update-ref', `refs/heads/${branch}`, sha]);
  return sha;
}

/**
 * Creates a bare repository in `dir` with `main` and `develop`, develop three commits ahead:
 * a tiny Node service with a Dockerfile, what the sandbox promotes and deploys. With
 * `serviceSet` (what `lugh sandbox` seeds), develop is four ahead: its last commit adds a
 * worker and declares the set in lugh.yml (app ×2, worker), so a staging /deploy and a
 * promotion's production deploy ship a set, and a /rollback to main's commit goes back to
 * one service. `oneServiceSha` is develop before that commit (develop's head without it).
 */
export async function seedSandboxRepository(
  dir: string,
  options: { serviceSet?: boolean } = {},
): Promise<{ mainSha: string; developSha: string; oneServiceSha: string }> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '--quiet', '--bare', '--initial-branch=main']);
  const repo = new GitRepository(dir);

  const first = await commitOn(
    repo,
    'main',
    undefined,
    {
      'package.json': packageJson,
      'server.js': serverJs({ logRequests: false, startedAt: false }),
      'README.md': readme(false),
    },
    'Initial commit: HTTP service with /healthz and /version',
    aoife,
    day(0),
  );
  const mainSha = await commitOn(
    repo,
    'main',
    first,
    { Dockerfile: dockerfile('package.json server.js'), '.dockerignore': dockerignore },
    'Add Dockerfile\n\nThe base image is a build argument so that CI can pin a mirror.',
    cian,
    day(1),
  );
  await git(dir, ['update-ref', 'refs/heads/develop', mainSha]);

  const logging = await commitOn(
    repo,
    'develop',
    mainSha,
    { 'server.js': serverJs({ logRequests: true, startedAt: false }) },
    'Log each request with its status and duration',
    niamh,
    day(2),
  );
  const startedAt = await commitOn(
    repo,
    'develop',
    logging,
    { 'server.js': serverJs({ logRequests: true, startedAt: true }) },
    'Report the start time from /version',
    cian,
    day(3),
  );
  const documented = await commitOn(
    repo,
    'develop',
    startedAt,
    { 'README.md': readme(true) },
    'Document the PORT variable',
    aoife,
    day(4),
  );
  if (!options.serviceSet) return { mainSha, developSha: documented, oneServiceSha: documented };
  const developSha = await commitOn(
    repo,
    'develop',
    documented,
    {
      'worker.js': workerJs,
      Dockerfile: dockerfile('package.json server.js worker.js'),
      'lugh.yml': serviceFile,
    },
    'Run a worker beside two API replicas (lugh.yml)\n\nlugh deploys them together at one commit: the worker first, then each API replica in turn.',
    niamh,
    day(5),
  );
  return { mainSha, developSha, oneServiceSha: documented };
}
