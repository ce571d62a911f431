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
 * environment's tag is among them (its shared sha tag goes, and with it the image), else none.
 */
export function orphanTags(repository: string, rest: readonly string[]): string[] {
  const anEnvironmentRunsIt = rest.some(
    (t) => t.startsWith(`${repository}:`) && !t.startsWith(`${repository}:sha-`),
  );
  return anEnvironmentRunsIt ? [] : [...rest];
}
