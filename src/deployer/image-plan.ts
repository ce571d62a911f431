import { createHash } from 'node:crypto';
import type { AppEnv } from '../config/environments.js';

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

export function imageTags(repository: string, env: AppEnv, sha: string): ImageTags {
  const short = sha.slice(0, 12);
  return { tag: `${repository}:${env}-${short}`, shaTag: `${repository}:sha-${short}` };
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
export function buildKey(tree: string, buildArgs: Readonly<Record<string, string>> = {}): string {
  const args = Object.entries(buildArgs)
    .filter(([name]) => !COMMIT_BUILD_ARGS.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256').update(JSON.stringify(args)).digest('hex');
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
 * Keeps the environment's newest `keep` images, counting any in `inUse` (the running and
 * the previous container's); the others lose the environment's tags.
 */
export function planImageRetention(
  repository: string,
  env: AppEnv,
  images: readonly ListedImage[],
  keep: number,
  inUse: readonly string[],
): ImageToDrop[] {
  const prefix = `${repository}:${env}-`;
  const newestFirst = [...images].sort((a, b) => b.Created - a.Created);
  const drop: ImageToDrop[] = [];
  let kept = 0;
  for (const image of newestFirst) {
    if (inUse.includes(image.Id) || kept < keep) {
      kept++;
      continue;
    }
    drop.push({ id: image.Id, untag: (image.RepoTags ?? []).filter((t) => t.startsWith(prefix)) });
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
