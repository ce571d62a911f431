import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import dockerignore from '@balena/dockerignore';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { BuildFailedError } from './errors.js';
import {
  buildKey,
  dockerfileInContext,
  type ImageTags,
  imageTags,
  isDefaultBuild,
  orphanTags,
  planImageRetention,
  treeTag,
} from './image-plan.js';
import { type Build, DEFAULT_BUILD } from './service-set.js';

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
  /**
   * Which Dockerfile, built in which folder (lugh.yml's paths, from the repository's root);
   * the root Dockerfile with the whole repository by default.
   */
  readonly build?: Build;
  /**
   * The tag the image gets in place of the environment's (`<repository>:<env>-<sha12>`): a
   * preview's (`<repository>:preview-pr-<n>-<sha12>`, previews/preview.ts), which no
   * environment's retention counts. The commit's and the tree's tags are added all the same
   * (the preview runtime's pruneImages removes them with the image).
   */
  readonly tag?: string;
}

const MAX_LINES_KEPT = 20;

/** How a build is named in messages: the commit, and the Dockerfile when it is not the root's. */
function buildName(request: ImageBuildRequest): string {
  const build = request.build ?? DEFAULT_BUILD;
  const short = request.sha.slice(0, 7);
  if (isDefaultBuild(build)) return short;
  return `${build.dockerfile}${build.context === '.' ? '' : ` (context ${build.context})`} at ${short}`;
}

/**
 * GitHub's tarball puts every file under `<owner>-<repo>-<sha>/`; a Docker build context
 * is the folder it is built in. Rewrites the archive with the first path segment cut, and
 * with `folder` (a build's context, from the repository's root) as its root when given:
 * only what is inside it.
 */
export function rerootTarball(
  gzipped: Buffer,
  folder?: string,
  /** Whether a path of the context (no trailing slash) stays out of it. */
  excluded: (path: string) => boolean = () => false,
): NodeJS.ReadableStream {
  const out = pack();
  const input = extract();
  const inside = folder && folder !== '.' ? `${folder.replace(/\/+$/, '')}/` : '';
  input.on('entry', (header, stream, next) => {
    const fromRoot = header.name.split('/').slice(1).join('/');
    const name = !inside ? fromRoot : fromRoot.startsWith(inside) ? fromRoot.slice(inside.length) : '';
    // tar-stream applies pax headers itself; an entry left with no name is the stripped folder.
    if (!name || excluded(name.replace(/\/+$/, ''))) {
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

/** The text of one file of a GitHub tarball (path from the repository's root), if it is there. */
async function fileInTarball(gzipped: Buffer, file: string): Promise<string | undefined> {
  let text: string | undefined;
  const input = extract();
  input.on('entry', (header, stream, next) => {
    const fromRoot = header.name.split('/').slice(1).join('/');
    if (fromRoot !== file || header.type !== 'file') {
      stream.resume();
      stream.on('end', next);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      text = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    input.on('finish', () => resolve());
    input.on('error', reject);
  });
  Readable.from(gzipped).pipe(createGunzip()).pipe(input);
  await done;
  return text;
}

/**
 * A build's context from a commit's tarball: its folder, without what the folder's
 * `.dockerignore` excludes. `docker build` applies .dockerignore on the client's side; the
 * engine applies none to a context it is sent, so without this every file of the commit
 * (tests, benches, anything a repository keeps out of its images) would reach `COPY . .`,
 * and a commit changing only such a file would miss the layer cache. The Dockerfile and the
 * .dockerignore are always sent, as the CLI does: the engine reads the one and drops both.
 */
export async function buildContext(
  gzipped: Buffer,
  build: Build = DEFAULT_BUILD,
): Promise<NodeJS.ReadableStream> {
  const folder = build.context === '.' ? '' : `${build.context.replace(/\/+$/, '')}/`;
  const rules = await fileInTarball(gzipped, `${folder}.dockerignore`);
  if (rules === undefined) return rerootTarball(gzipped, build.context);
  // A CommonJS module: its types name the factory `default`, which it also sets at run time.
  const ignore = dockerignore.default().add(rules.split(/\r?\n/));
  const always = new Set(['.dockerignore', dockerfileInContext(build)]);
  return rerootTarball(gzipped, build.context, (name) => !always.has(name) && ignore.ignores(name));
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
  const build = request.build ?? DEFAULT_BUILD;
  const dockerfile = dockerfileInContext(build);
  const context = await buildContext(await request.tarball(), build);
  const stream = await docker.buildImage(context, {
    t: shaTag,
    // The root Dockerfile is Docker's default; another is named inside its context.
    ...(isDefaultBuild(build) ? {} : { dockerfile }),
    buildargs: { GIT_SHA: request.sha, ...request.buildArgs },
    // lugh.sha is the commit it was first built for; a container says which it runs (GIT_SHA).
    labels: {
      'lugh.sha': request.sha,
      ...(request.tree
        ? {
            'lugh.tree': request.tree,
            'lugh.build-key': buildKey(request.tree, request.buildArgs, build),
          }
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
    throw new BuildFailedError(`the build of ${buildName(request)} failed: ${errors.at(-1)}`, tail);
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
    tagsFor(env: AppEnv, sha: string, build?: Build): ImageTags {
      return imageTags(repository, env, sha, build);
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
      const tags = this.tagsFor(request.env, request.sha, request.build);
      const { shaTag } = tags;
      const tag = request.tag ?? tags.tag;
      // Before anything is fetched: a Dockerfile outside its context is refused, saying why.
      dockerfileInContext(request.build ?? DEFAULT_BUILD);
      const key = request.tree ? buildKey(request.tree, request.buildArgs, request.build) : undefined;
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
          `the build of ${buildName(request)} produced no image`,
          lines.slice(-MAX_LINES_KEPT),
        );
      log.info({ sha: request.sha, tag, key }, 'built the image');
      return tagged(image.Id);
    },
  };
}

export type ImageBuilder = ReturnType<typeof createImageBuilder>;
