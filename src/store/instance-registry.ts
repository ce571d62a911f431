import type { AppEnv } from '../environments.js';
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
