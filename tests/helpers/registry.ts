// A real image registry for the Swarm tests: Debian's `docker-registry` package (the CNCF
// distribution registry, 2.8; `apt-get install -y docker-registry`), one process per test
// file on a free loopback port with its own storage, deletes enabled (retention removes
// old tags). Docker trusts 127.0.0.0/8 without TLS, so the engine pushes and pulls it as is
// (and sends credentials there over plain HTTP). With `auth` it takes only that user
// (`auth.htpasswd`, bcrypt, written by Apache's `htpasswd` from apt's apache2-utils);
// with `deletes: false` it refuses to delete manifests (405 UNSUPPORTED), as many do.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { freePort } from '../../src/sandbox/free-port.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export const registryInstalled = (): boolean => spawnSync(REGISTRY_BINARY, ['--version']).status === 0;

export interface RunningRegistry {
  /** DEPLOY_REGISTRY: `127.0.0.1:<port>` (or `<host>:<port>`). */
  readonly address: string;
  /** The registry's HTTP API root, `http://<address>/v2/`. */
  readonly apiUrl: string;
  /** Its log so far (requests and errors), for a failing test's message. */
  log(): string;
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** The one user it takes (HTTP basic auth over an htpasswd file); none: anonymous. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** False: deleting a manifest answers 405 UNSUPPORTED. Default true. */
  readonly deletes?: boolean;
  /** Where it listens (default 127.0.0.1): the host's end of a test's namespace link, say. */
  readonly host?: string;
  /** Its port (default: a free one), when engines must be told the address before it starts. */
  readonly port?: number;
}

/** `user:bcrypt` for `auth.htpasswd`; the password goes to htpasswd on its stdin, never argv. */
function htpasswdLine(username: string, password: string): string {
  return execFileSync('htpasswd', ['-niB', username], { input: `${password}\n`, encoding: 'utf8' }).trim();
}

/** Starts a registry and waits until its API answers; one that does not start leaves no directory. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-registry-'));
  try {
    return await startIn(dir, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string, options: RegistryOptions): Promise<RunningRegistry> {
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const config = path.join(dir, 'config.yml');
  const htpasswd = path.join(dir, 'htpasswd');
  if (options.auth)
    writeFileSync(htpasswd, `${htpasswdLine(options.auth.username, options.auth.password)}\n`);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      `    enabled: ${options.deletes ?? true}`,
      'http:',
      `  addr: ${host}:${port}`,
      ...(options.auth ? ['auth:', '  htpasswd:', '    realm: lugh-test', `    path: ${htpasswd}`] : []),
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const apiUrl = `http://${host}:${port}/v2/`;
  const until = Date.now() + 20_000;
  for (;;) {
    // With auth, an answering registry says 401 to an anonymous caller.
    const ok = await fetch(apiUrl).then(
      (r) => r.status === 200 || (options.auth !== undefined && r.status === 401),
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start on ${port}: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `${host}:${port}`,
    apiUrl,
    log: () => output,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes this engine's images named in a registry for `repository` (`<registry>/<repository>:…`
 * or `@sha256:…`, what a push leaves): removeTestResources removes `<run>:` tags only.
 */
export async function removeRegistryImages(docker: Docker, repository: string): Promise<void> {
  for (const image of await docker.listImages().catch(() => [])) {
    const names = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])];
    if (names.some((ref) => ref.includes(`/${repository}:`) || ref.includes(`/${repository}@`)))
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => {});
  }
}
