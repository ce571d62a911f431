import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { AppEnv } from '../config/environments.js';
import { type Build, DEFAULT_BUILD } from './service-set.js';

/**
 * The image side of a deploy as data: which tags a commit's image carries, and which
 * images an environment lets go. Pure, so it is tested by equality; `image-builder.ts`
 * runs it against the engine.
 */

export interface ImageTags {
  /** `<repository>:<env>-<sha12>`, what the environment's container runs. */
  readonly tag: string;
  /** `<repository>:sha-<sha12>`, shared by every environment that runs this commit. */
  readonly shaTag: string;
}

/**
 * The tags of a commit's image; an image of another build than the root Dockerfile's (a
 * service of lugh.yml) carries its build's name after the commit (`buildSuffix`).
 */
export function imageTags(repository: string, env: AppEnv, sha: string, build?: Build): ImageTags {
  const short = sha.slice(0, 12);
  const suffix = build && !isDefaultBuild(build) ? `-${buildSuffix(build)}` : '';
  return {
    tag: `${repository}:${env}-${short}${suffix}`,
    shaTag: `${repository}:sha-${short}${suffix}`,
  };
}

/** The root Dockerfile built with the whole repository as its context: the one build before lugh.yml. */
export function isDefaultBuild(build: Build): boolean {
  return build.dockerfile === DEFAULT_BUILD.dockerfile && build.context === DEFAULT_BUILD.context;
}

/**
 * A build's name in its tags: its Dockerfile's path as a slug, and a short hash of the
 * Dockerfile and context, so two builds never share tags (`web-dockerfile-3fa2c1`).
 */
export function buildSuffix(build: Build): string {
  const slug = build.dockerfile
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(`${build.dockerfile}\0${build.context}`).digest('hex');
  return `${slug || 'dockerfile'}-${hash.slice(0, 6)}`;
}

/** A Dockerfile outside the context it is built with: Docker cannot read it. */
export class DockerfileOutsideContextError extends Error {
  override name = 'DockerfileOutsideContextError';
}

/**
 * The `dockerfile` Docker's build API takes (a path inside the context it is sent) for a
 * build whose lugh.yml paths are from the repository's root: `web/Dockerfile` built in
 * `web` is `Dockerfile`; in `.`, `web/Dockerfile`.
 */
export function dockerfileInContext(build: Build): string {
  const context = posix.normalize(build.context);
  const dockerfile = posix.normalize(build.dockerfile);
  const inside = posix.relative(context === '.' ? '' : context, dockerfile);
  if (inside === '' || inside.startsWith('../') || inside === '..' || posix.isAbsolute(inside)) {
    throw new DockerfileOutsideContextError(
      `lugh.yml builds ${build.dockerfile} with the context ${build.context}, but the Dockerfile is not inside that folder: Docker reads it from the context. Move it into ${build.context}/ or set \`context\` to a folder that holds it`,
    );
  }
  return inside;
}

/**
 * Build arguments that say which commit an image was built for rather than what it is built
 * from: left out of the build key, or a merge commit's key would never match its branch's.
 * The container's environment names the commit it runs (see container-plan.ts).
 */
export const COMMIT_BUILD_ARGS: readonly string[] = ['GIT_SHA'];

/**
 * What an image is built from, as a short stable key: the commit's git tree and a hash of
 * the sorted build arguments (`<tree12>-<args8>`). Two commits with one tree (a merge
 * commit that changes nothing, and the branch head it merged) have one key, so one image.
 */
export function buildKey(
  tree: string,
  buildArgs: Readonly<Record<string, string>> = {},
  build: Build = DEFAULT_BUILD,
): string {
  const args = Object.entries(buildArgs)
    .filter(([name]) => !COMMIT_BUILD_ARGS.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // The root Dockerfile's key is what it was before lugh.yml, so its images stay found.
  const what = isDefaultBuild(build) ? args : { args, dockerfile: build.dockerfile, context: build.context };
  const hash = createHash('sha256').update(JSON.stringify(what)).digest('hex');
  return `${tree.slice(0, 12)}-${hash.slice(0, 8)}`;
}

/** `<repository>:tree-<key>`, shared like the sha tag: the image of one tree and build arguments. */
export function treeTag(repository: string, key: string): string {
  return `${repository}:tree-${key}`;
}

/** Tags every environment shares; an image that has only these left is no environment's. */
const SHARED_TAG_KINDS = ['sha-', 'tree-'];

/** An image as the engine lists it. */
export interface ListedImage {
  readonly Id: string;
  readonly Created: number;
  readonly RepoTags?: readonly string[] | null;
}

/** An image that loses the environment's tags. */
export interface ImageToDrop {
  readonly id: string;
  readonly untag: readonly string[];
}

/**
 * Keeps the environment's newest `keep` images of each build (the root Dockerfile's, and
 * each other build of lugh.yml, told apart by their tags' suffix), counting any in `inUse`
 * (the containers' and their previous versions'); the others lose the environment's tags
 * of that build.
 */
export function planImageRetention(
  repository: string,
  env: AppEnv,
  images: readonly ListedImage[],
  keep: number,
  inUse: readonly string[],
): ImageToDrop[] {
  const prefix = `${repository}:${env}-`;
  // `<env>-<sha12>` is the root Dockerfile's; `<env>-<sha12>-<build>` another build's.
  const buildOf = (tag: string) => {
    const rest = tag.slice(prefix.length);
    const dash = rest.indexOf('-');
    return dash < 0 ? '' : rest.slice(dash + 1);
  };
  const newestFirst = [...images].sort((a, b) => b.Created - a.Created);
  const drop: ImageToDrop[] = [];
  const kept = new Map<string, number>();
  for (const image of newestFirst) {
    const tags = (image.RepoTags ?? []).filter((t) => t.startsWith(prefix));
    const builds = tags.length ? [...new Set(tags.map(buildOf))] : [''];
    const untag: string[] = [];
    let dropped = false;
    for (const build of builds) {
      const count = kept.get(build) ?? 0;
      if (inUse.includes(image.Id) || count < keep) {
        kept.set(build, count + 1);
        continue;
      }
      dropped = true;
      untag.push(...tags.filter((t) => buildOf(t) === build));
    }
    if (dropped) drop.push({ id: image.Id, untag });
  }
  return drop;
}

/**
 * The tags left on an image once an environment let it go: all of them when no
 * environment's tag is among them (its shared sha and tree tags go, and with them the
 * image), else none.
 */
export function orphanTags(repository: string, rest: readonly string[]): string[] {
  const anEnvironmentRunsIt = rest.some(
    (t) =>
      t.startsWith(`${repository}:`) &&
      !SHARED_TAG_KINDS.some((kind) => t.startsWith(`${repository}:${kind}`)),
  );
  return anEnvironmentRunsIt ? [] : [...rest];
}
