import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildContext, rerootTarball } from '../../../src/deployer/image-builder.js';

/** A gzipped tar as GitHub's tarball: every path under `<owner>-<repo>-<sha>/`. */
async function githubTarball(files: Record<string, string>): Promise<Buffer> {
  const out = pack();
  const chunks: Buffer[] = [];
  out.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => out.on('end', () => resolve()));
  out.entry({ name: 'acme-app-0123456/', type: 'directory' });
  for (const [name, content] of Object.entries(files))
    out.entry({ name: `acme-app-0123456/${name}` }, content);
  out.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

async function namesIn(stream: NodeJS.ReadableStream): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const input = extract();
  input.on('entry', (header, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (c) => chunks.push(c as Buffer));
    body.on('end', () => {
      files[header.name] = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    input.on('finish', () => resolve());
    input.on('error', (error) => reject(error));
  });
  stream.pipe(input);
  await done;
  return files;
}

describe('the build context cut from GitHub’s tarball', () => {
  const files = {
    Dockerfile: 'FROM app',
    'server.js': 'app',
    'web/Dockerfile': 'FROM web',
    'web/index.html': 'web',
    'webhooks/hook.js': 'not web',
  };

  it('the whole repository for the root Dockerfile, the top folder cut', async () => {
    expect(await namesIn(rerootTarball(await githubTarball(files)))).toEqual(files);
    expect(await namesIn(rerootTarball(await githubTarball(files), '.'))).toEqual(files);
  });

  it('only the context folder, as its root, for a build in a folder (a sibling with the same prefix left out)', async () => {
    const web = { Dockerfile: 'FROM web', 'index.html': 'web' };
    expect(await namesIn(rerootTarball(await githubTarball(files), 'web'))).toEqual(web);
    expect(await namesIn(rerootTarball(await githubTarball(files), 'web/'))).toEqual(web);
  });

  it('leaves out what the context’s .dockerignore excludes, as `docker build` does (the engine applies no .dockerignore to a context it is sent)', async () => {
    const repository = {
      Dockerfile: 'FROM app',
      '.dockerignore': 'tests\n**/*.local\nbench/\ndocs/*.md\n!docs/keep.md\n# a comment\n',
      'server.js': 'app',
      'tests/fault-marker.txt': 'changes every deploy',
      'src/.env.local': 'a secret',
      'bench/run.ts': 'bench',
      'docs/notes.md': 'notes',
      'docs/keep.md': 'kept',
      'testsuite.js': 'not tests',
    };
    expect(await namesIn(await buildContext(await githubTarball(repository)))).toEqual({
      Dockerfile: 'FROM app',
      '.dockerignore': repository['.dockerignore'],
      'server.js': 'app',
      'docs/keep.md': 'kept',
      'testsuite.js': 'not tests',
    });
  });

  it('the .dockerignore of the build’s own context, never its Dockerfile or the .dockerignore itself (the engine drops those)', async () => {
    const repository = {
      '.dockerignore': 'web',
      'web/Dockerfile': 'FROM web',
      'web/.dockerignore': 'Dockerfile\n.dockerignore\n*.log\n',
      'web/index.html': 'web',
      'web/debug.log': 'noise',
    };
    expect(
      await namesIn(
        await buildContext(await githubTarball(repository), { context: 'web', dockerfile: 'web/Dockerfile' }),
      ),
    ).toEqual({
      Dockerfile: 'FROM web',
      '.dockerignore': repository['web/.dockerignore'],
      'index.html': 'web',
    });
    // Without a .dockerignore, the whole context.
    expect(
      await namesIn(await buildContext(await githubTarball({ Dockerfile: 'FROM app', 'a.txt': 'a' }))),
    ).toEqual({
      Dockerfile: 'FROM app',
      'a.txt': 'a',
    });
  });
});
