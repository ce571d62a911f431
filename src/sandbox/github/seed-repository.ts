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

const dockerfile = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
# The deployer passes the commit being built as GIT_SHA (as for lugh's own image); /version reports it.
ARG GIT_SHA=unknown
ENV NODE_ENV=production COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js ./
# A numeric user: it exists on every base image, with or without a passwd entry.
USER 1000:1000
EXPOSE 8080
# What a deploy gates on: Docker's health status of this check.
HEALTHCHECK --interval=2s --timeout=2s --start-period=5s --retries=2 \\
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
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
 * a tiny Node service with a Dockerfile, what the sandbox promotes and deploys.
 */
export async function seedSandboxRepository(dir: string): Promise<{ mainSha: string; developSha: string }> {
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
    { Dockerfile: dockerfile, '.dockerignore': dockerignore },
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
  const developSha = await commitOn(
    repo,
    'develop',
    startedAt,
    { 'README.md': readme(true) },
    'Document the PORT variable',
    aoife,
    day(4),
  );
  return { mainSha, developSha };
}
