import type { AppEnv } from '../config/environments.js';
import type { HeldLock } from './locks.js';
import { keyspace, type Redis } from './redis.js';

export interface InstanceRecord {
  readonly env: AppEnv;
  readonly botId: number;
  readonly botUsername: string;
  readonly startedAt: string;
}

/**
 * Each instance writes who it is under its own prefix and reads the other environment's
 * record: two environments driving the same bot token is refused at start.
 */
export async function registerInstance(
  redis: Redis,
  ownPrefix: string,
  otherPrefix: string,
  record: InstanceRecord,
): Promise<InstanceRecord | undefined> {
  await redis.set(keyspace(ownPrefix).key('instance'), JSON.stringify(record));
  const raw = await redis.get(keyspace(otherPrefix).key('instance'));
  if (raw === null) return undefined;
  const other = JSON.parse(raw) as InstanceRecord;
  return other.botId === record.botId && other.env !== record.env ? other : undefined;
}

/** The other environment's record, if it has started (for pointing users at its bot). */
export async function readInstance(redis: Redis, prefix: string): Promise<InstanceRecord | undefined> {
  const raw = await redis.get(keyspace(prefix).key('instance'));
  return raw === null ? undefined : (JSON.parse(raw) as InstanceRecord);
}

/**
 * An instance publishes its deploy lock under its own prefix, expiring with the lock; the
 * other instance reads it (staging's /promote refuses while production is locked). Like
 * the instance record, it is written only by its owner and only read across.
 */
export async function publishDeployLock(
  redis: Redis,
  prefix: string,
  lock: HeldLock | undefined,
): Promise<void> {
  const key = keyspace(prefix).key('public', 'deploy-lock');
  const ttl = lock ? lock.expiresAt.getTime() - Date.now() : 0;
  if (!lock || ttl <= 0) await redis.del(key);
  else await redis.set(key, JSON.stringify(lock), 'PX', ttl);
}

export async function readDeployLock(redis: Redis, prefix: string): Promise<HeldLock | undefined> {
  const raw = await redis.get(keyspace(prefix).key('public', 'deploy-lock'));
  if (raw === null) return undefined;
  const lock = JSON.parse(raw) as {
    name: string;
    owner: string;
    reason: string;
    acquiredAt: string;
    expiresAt: string;
  };
  const expiresAt = new Date(lock.expiresAt);
  if (expiresAt.getTime() <= Date.now()) return undefined;
  return { ...lock, acquiredAt: new Date(lock.acquiredAt), expiresAt };
}

/**
 * What an instance says of itself for the other's /status (version, health, lock, last
 * deploy), refreshed every few seconds and gone a minute after it stops saying it.
 */
export async function publishStatus(
  redis: Redis,
  prefix: string,
  status: object,
  ttlMs = 60_000,
): Promise<void> {
  await redis.set(keyspace(prefix).key('public', 'status'), JSON.stringify(status), 'PX', ttlMs);
}

export async function readStatus<T>(redis: Redis, prefix: string): Promise<T | undefined> {
  const raw = await redis.get(keyspace(prefix).key('public', 'status'));
  return raw === null ? undefined : (JSON.parse(raw) as T);
}

/** An image an environment ran for a build key, as the deployer's image ledger records it. */
export interface PublishedRanImage {
  readonly imageId: string;
  readonly since: string;
}

// Long enough for any promotion; an image id past it is found again by its tree tag, only
// without the word that staging ran it.
const RAN_IMAGE_TTL_MS = 90 * 24 * 3_600_000;

/**
 * An environment says which image it ran for a build key, under its own prefix; the
 * environment downstream reads it across. The first `since` of one image is kept.
 */
export async function publishRanImage<T extends PublishedRanImage>(
  redis: Redis,
  prefix: string,
  key: string,
  image: T,
): Promise<void> {
  const name = keyspace(prefix).key('public', 'ran-image', key);
  const before = await readRanImage<T>(redis, prefix, key);
  const record = before?.imageId === image.imageId ? { ...image, since: before.since } : image;
  await redis.set(name, JSON.stringify(record), 'PX', RAN_IMAGE_TTL_MS);
}

export async function readRanImage<T extends PublishedRanImage>(
  redis: Redis,
  prefix: string,
  key: string,
): Promise<T | undefined> {
  const raw = await redis.get(keyspace(prefix).key('public', 'ran-image', key));
  return raw === null ? undefined : (JSON.parse(raw) as T);
}
