// The real Docker engine for tests: is there one, and the local base image on it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { removeRepositoryTags } from '../../src/deployer/docker-helpers.js';

const execFileAsync = promisify(execFile);

/** Tag of the locally built base image (deploy/make-base-image.sh). */
export const BASE_IMAGE = process.env.LUGH_BASE_IMAGE || 'lugh-base:node20';

import { PACKAGE_ROOT as REPO_ROOT } from '../../src/package-root.js';

export { REPO_ROOT };

/** A client for DOCKER_HOST, or the default socket when it is unset. */
export function createDockerClient(): Docker {
  return new Docker();
}

/**
 * True when an engine answers a ping within a few seconds. In CI (CI=true) an engine is
 * required: .ci/run starts one, so its absence is a failure, never a silent skip.
 */
export async function dockerAvailable(docker: Docker = createDockerClient()): Promise<boolean> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('docker ping timed out')), 3_000).unref()),
    ]);
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`CI needs a Docker engine and none answered: ${String(error)}`);
    return false;
  }
}

/** The base image's tag, building it with deploy/make-base-image.sh when it is missing. */
export async function ensureBaseImage(docker: Docker = createDockerClient()): Promise<string> {
  try {
    const image = await docker.getImage(BASE_IMAGE).inspect();
    // An older base (without pg_dump) is rebuilt by the script, like a missing one.
    if (image.Config?.Labels?.['lugh.base.version'] === '2') return BASE_IMAGE;
  } catch {
    // not there yet: build it below
  }
  try {
    await execFileAsync('bash', ['deploy/make-base-image.sh', '--tag', BASE_IMAGE], {
      cwd: REPO_ROOT,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`deploy/make-base-image.sh failed: ${String(error)}\n${stderr}`);
  }
  return BASE_IMAGE;
}

/** `<prefix>-<8 hex>`, lower case, usable as a container, network, image or compose project name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

/**
 * Removes what a test made on the shared engine: containers labelled `lugh.test=<run>`
 * and the tags of the repository `<run>` (an image goes with its last tag). Never anything
 * else (the engine may be shared).
 */
export async function removeTestResources(docker: Docker, run: string): Promise<void> {
  for (const container of await docker.listContainers({
    all: true,
    filters: { label: [`lugh.test=${run}`] },
  })) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  // Parents kept: another test's build may be using them as its cache at this moment.
  await removeRepositoryTags(docker, run, { noprune: true });
}

/** The test engine: a client for it, and whether it answers (see dockerAvailable). */
export async function testDocker(): Promise<{ docker: Docker; engine: boolean }> {
  const docker = createDockerClient();
  return { docker, engine: await dockerAvailable(docker) };
}

/**
 * `<run>-staging-app` and `<run>-production-app`, idle containers of the base image in the
 * apps' place (labelled for removeTestResources): /status reads their state, CPU, memory
 * and, on production's, a Docker health check that passes, as lugh's image has one.
 */
export async function startIdleAppContainers(docker: Docker, run: string): Promise<void> {
  const image = await ensureBaseImage(docker);
  for (const env of ['staging', 'production'] as const) {
    const container = await docker.createContainer({
      name: `${run}-${env}-app`,
      Image: image,
      Cmd: ['sleep', '3600'],
      Labels: { 'lugh.test': run },
      Healthcheck:
        env === 'production' ? { Test: ['CMD', 'true'], Interval: 1e9, StartPeriod: 0 } : undefined,
    });
    await container.start();
  }
}

/** The commit a container says it runs (its GIT_SHA variable). */
export const gitShaOf = (info: Docker.ContainerInspectInfo): string | undefined =>
  info.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);

/** Asks `fn` every second until it gives a value (not undefined or false; a throw counts as none). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
