import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { BuildFailedError } from './errors.js';
import { type ImageTags, imageTags, orphanTags, planImageRetention } from './image-plan.js';

export { BuildFailedError } from './errors.js';

export interface BuiltImage extends ImageTags {
  readonly imageId: string;
  /** True when this commit had been built before (for another environment, or earlier). */
  readonly reused: boolean;
}

export interface ImageBuildRequest {
  readonly env: AppEnv;
  readonly sha: string;
  /** The commit's source as GitHub serves it: a gzipped tar with one top-level folder. */
  readonly tarball: () => Promise<Buffer>;
  readonly buildArgs?: Readonly<Record<string, string>>;
}

const MAX_LINES_KEPT = 20;

/**
 * GitHub's tarball puts every file under `<owner>-<repo>-<sha>/`; a Docker build context
 * needs the Dockerfile at its root. Rewrites the archive with the first path segment cut.
 */
export function rerootTarball(gzipped: Buffer): NodeJS.ReadableStream {
  const out = pack();
  const input = extract();
  input.on('entry', (header, stream, next) => {
    const name = header.name.split('/').slice(1).join('/');
    // tar-stream applies pax headers itself; an entry left with no name is the stripped folder.
    if (!name) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    stream.pipe(out.entry({ ...header, name }, next));
  });
  input.on('finish', () => out.finalize());
  input.on('error', (error) => out.destroy(error));
  Readable.from(gzipped).pipe(createGunzip()).pipe(input);
  return out as unknown as NodeJS.ReadableStream;
}

/**
 * Builds a commit's source as `shaTag`; returns the build's last output lines. Fails with
 * the build's last lines when it fails.
 */
async function buildFromTarball(
  docker: Docker,
  request: ImageBuildRequest,
  shaTag: string,
): Promise<string[]> {
  const context = rerootTarball(await request.tarball());
  const stream = await docker.buildImage(context, {
    t: shaTag,
    buildargs: { GIT_SHA: request.sha, ...request.buildArgs },
    labels: { 'lugh.sha': request.sha },
    rm: true,
    forcerm: true,
  });
  const lines: string[] = [];
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error) => (error ? reject(error) : resolve()),
      (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
        for (const line of (event.stream ?? '').split('\n')) {
          if (line.trim()) lines.push(line.trimEnd());
        }
        // followProgress can end without an error on a failed build: the failure is an event.
        const failure = event.errorDetail?.message ?? event.error;
        if (failure) errors.push(failure.trim());
        if (lines.length > MAX_LINES_KEPT * 5) lines.splice(0, lines.length - MAX_LINES_KEPT);
      },
    );
  });
  if (errors.length > 0) {
    const tail = [...lines, ...errors].slice(-MAX_LINES_KEPT);
    throw new BuildFailedError(`the build of ${request.sha.slice(0, 7)} failed: ${errors.at(-1)}`, tail);
  }
  return lines;
}

/**
 * Builds the image of one commit with dockerode, once: a commit already built is only
 * tagged for the new environment, so the image staging ran is the image production gets.
 */
export function createImageBuilder(options: { docker: Docker; logger: Logger; repository?: string }) {
  const { docker } = options;
  const repository = options.repository ?? 'lugh';
  const log = options.logger.child({ component: 'image-builder' });

  const exists = async (ref: string) => {
    try {
      return await docker.getImage(ref).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  };

  const tagAs = async (source: string, tag: string) => {
    const at = tag.lastIndexOf(':');
    await docker.getImage(source).tag({ repo: tag.slice(0, at), tag: tag.slice(at + 1) });
  };

  return {
    tagsFor(env: AppEnv, sha: string): ImageTags {
      return imageTags(repository, env, sha);
    },

    /**
     * Keeps the environment's newest `keep` images, counting any in `inUse` (the running
     * and the previous container's); removes the environment's tag from the others, and
     * the image itself once no environment's tag is left on it.
     */
    async prune(env: AppEnv, keep: number, inUse: readonly string[]): Promise<string[]> {
      const images = await docker.listImages({ filters: { reference: [`${repository}:${env}-*`] } });
      const removed: string[] = [];
      for (const { id, untag } of planImageRetention(repository, env, images, keep, inUse)) {
        for (const tag of untag) {
          await docker.getImage(tag).remove({ noprune: false });
          removed.push(tag);
        }
        // Read again: another environment may have tagged it meanwhile.
        const rest = (await exists(id))?.RepoTags ?? [];
        for (const tag of orphanTags(repository, rest))
          await docker
            .getImage(tag)
            .remove({ noprune: false })
            .catch(() => {});
      }
      if (removed.length) log.info({ env, removed }, 'removed old images');
      return removed;
    },

    async ensure(request: ImageBuildRequest): Promise<BuiltImage> {
      const { tag, shaTag } = this.tagsFor(request.env, request.sha);
      const built = await exists(shaTag);
      if (built) {
        await tagAs(shaTag, tag);
        log.info({ sha: request.sha, tag }, 'reusing the image built for this commit');
        return { tag, shaTag, imageId: built.Id, reused: true };
      }
      const lines = await buildFromTarball(docker, request, shaTag);
      const image = await exists(shaTag);
      if (!image)
        throw new BuildFailedError(
          `the build of ${request.sha.slice(0, 7)} produced no image`,
          lines.slice(-MAX_LINES_KEPT),
        );
      await tagAs(shaTag, tag);
      log.info({ sha: request.sha, tag }, 'built the image');
      return { tag, shaTag, imageId: image.Id, reused: false };
    },
  };
}

export type ImageBuilder = ReturnType<typeof createImageBuilder>;
