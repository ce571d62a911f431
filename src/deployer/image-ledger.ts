import type { AppEnv } from '../config/environments.js';
import type { ImageOrigin } from '../store/deployments.js';
import { publishRanImage, readRanImage } from '../store/instance-registry.js';
import type { Redis } from '../store/redis.js';

/** An image an environment ran for a build key (see `buildKey` in image-plan.ts). */
export interface RanImage {
  readonly env: AppEnv;
  readonly deploymentId: number;
  readonly imageId: string;
  /** The commit it ran the image as, and that commit's tree. */
  readonly sha: string;
  readonly tree: string;
  /** When the environment first ran this image for this key (ISO 8601). */
  readonly since: string;
}

/**
 * Where environments say which image they ran for a build key, so that production can run
 * the very image staging ran. Each environment writes only its own records; production reads
 * staging's (`upstream`). The environments run on one Docker engine, so an image id named
 * here is an image production can run.
 */
export interface ImageLedger {
  /** This environment runs `image` (healthy, switched to); the first `since` of an image is kept. */
  ran(key: string, image: RanImage): Promise<void>;
  /** The environment whose tested images this one reuses (staging, for production). */
  readonly upstream?: {
    readonly env: AppEnv;
    ran(key: string): Promise<RanImage | undefined>;
  };
}

/**
 * Where a deploy's image came from, compared with what upstream ran for the same build key:
 * the very same image (`reused`), a new build when upstream ran no image of this tree and
 * build arguments (`built`) or when the image it ran is gone (`rebuilt`), or an image built
 * before that upstream never ran (`kept`, e.g. a hotfix deployed again).
 */
export function imageOrigin(
  image: { readonly imageId: string; readonly reused?: 'sha' | 'tree' },
  upstreamRan: RanImage | undefined,
): ImageOrigin {
  if (upstreamRan?.imageId === image.imageId)
    return {
      kind: 'reused',
      fromEnv: upstreamRan.env,
      fromDeployment: upstreamRan.deploymentId,
      since: new Date(upstreamRan.since),
    };
  if (image.reused) return { kind: 'kept' };
  return { kind: upstreamRan ? 'rebuilt' : 'built' };
}

/**
 * The ledger in Redis: this environment's records under its own prefix, upstream's read
 * under upstream's (the published keys of instance-registry.ts).
 */
export function createImageLedger(
  redis: Redis,
  ownPrefix: string,
  upstream?: { readonly env: AppEnv; readonly prefix: string },
): ImageLedger {
  return {
    ran: (key, image) => publishRanImage(redis, ownPrefix, key, image),
    upstream: upstream && {
      env: upstream.env,
      ran: (key) => readRanImage<RanImage>(redis, upstream.prefix, key),
    },
  };
}
