import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { BuildFailedError } from './errors.js';
import {
  buildKey,
  type ImageTags,
  imageTags,
  orphanTags,
  planImageRetention,
  treeTag,
} from './image-plan.js';

export { BuildFailedError } from './errors.js';

export interface BuiltImage extends ImageTags {
  readonly imageId: string;
  /**
   * How an image built before was found: by this commit (`sha`), or by its tree and build
   * arguments (`tree`: another commit with the same files, e.g. the branch a merge commit
   * merged). Undefined: built now.
   */
  readonly reused?: 'sha' | 'tree';
  /** The build key (`buildKey`) and its tag, when the commit's tree is known. */
  readonly key?: string;
  readonly treeTag?: string;
}

export interface ImageBuildRequest {
  readonly env: AppEnv;
  readonly sha: string;
  /** The commit's git tree; without it an image is found by its commit only. */
  readonly tree?: string;
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
    // lugh.sha is the commit it was first built for; a container says which it runs (GIT_SHA).
    labels: {
      'lugh.sha': request.sha,
      ...(request.tree
        ? { 'lugh.tree': request.tree, 'lugh.build-key': buildKey(request.tree, request.buildArgs) }
        : {}),
    },
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

    /**
     * The image of a commit: the one built before for its tree and build arguments (for this
     * commit or another with the same files), else the one built for this commit (unless its
     * key says other arguments), else a new build. Tagged for the environment, the commit
     * and the tree, so that the next commit with the same files finds it.
     */
    async ensure(request: ImageBuildRequest): Promise<BuiltImage> {
      const { tag, shaTag } = this.tagsFor(request.env, request.sha);
      const key = request.tree ? buildKey(request.tree, request.buildArgs) : undefined;
      const byTree = key ? treeTag(repository, key) : undefined;
      const tagged = async (imageId: string, reused?: 'sha' | 'tree'): Promise<BuiltImage> => {
        for (const t of [tag, shaTag, byTree]) if (t) await tagAs(imageId, t);
        return { tag, shaTag, treeTag: byTree, key, imageId, reused };
      };
      const sameTree = byTree ? await exists(byTree) : undefined;
      if (sameTree) {
        log.info({ sha: request.sha, tag, key }, 'reusing the image built for this tree');
        return tagged(sameTree.Id, sameTree.Config?.Labels?.['lugh.sha'] === request.sha ? 'sha' : 'tree');
      }
      // An image of this commit built with other arguments (its key says so) is not this build.
      const bySha = await exists(shaTag);
      const byShaKey = bySha?.Config?.Labels?.['lugh.build-key'];
      if (bySha && (!key || !byShaKey || byShaKey === key)) {
        log.info({ sha: request.sha, tag }, 'reusing the image built for this commit');
        return tagged(bySha.Id, 'sha');
      }
      const lines = await buildFromTarball(docker, request, shaTag);
      const image = await exists(shaTag);
      if (!image)
        throw new BuildFailedError(
          `the build of ${request.sha.slice(0, 7)} produced no image`,
          lines.slice(-MAX_LINES_KEPT),
        );
      log.info({ sha: request.sha, tag, key }, 'built the image');
      return tagged(image.Id);
    },
  };
}

export type ImageBuilder = ReturnType<typeof createImageBuilder>;
