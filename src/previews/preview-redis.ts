// A preview's Redis prefix on the Redis server it reaches (PREVIEW_REDIS_URL): every key it
// may touch starts with `names.redisPrefix`, and it logs in as an ACL user that may touch
// nothing else: keys and channels under the prefix, every command but the admin and
// dangerous ones, no key listing (KEYS, SCAN, RANDOMKEY: ACL key patterns do not filter
// what SCAN returns) and of scripting only EVAL/EVALSHA (+_RO) and SCRIPT LOAD/EXISTS, what
// BullMQ needs through ioredis (INFO too: BullMQ asks the server's version). Its password
// is derived (derived-password.ts) from PREVIEW_REDIS_URL's password, never stored.
// A preview gets Redis only where that user is a wall: lugh's login must manage ACL users,
// and the server's `default` user must need a password (else any preview logs in as it, to
// every other prefix and staging's/production's keys). Otherwise ensure throws
// PreviewRedisError saying what to set, and never hands out lugh's own URL.
import { Redis, ReplyError } from 'ioredis';
import type { Logger } from '../logger.js';
import { derivedPassword } from './derived-password.js';
import type { PreviewNames, PreviewRedis } from './preview.js';

/** Keys unlinked per round of SCAN. */
const BATCH = 500;

/** A glob (SCAN MATCH, ACL key patterns) that matches `prefix` literally, then anything. */
export const prefixGlob = (prefix: string) => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;

/** ACL user names and prefixes lugh makes: nothing that would split an ACL rule. */
const PLAIN = /^[A-Za-z0-9_:.-]+$/;

/** The Redis server did not answer, or refused a command it must run; said without the password. */
export class PreviewRedisError extends Error {
  override name = 'PreviewRedisError';
}

function shown(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(an unreadable PREVIEW_REDIS_URL)';
  }
}

/** What a preview's user may run (after its key and channel patterns). */
export const USER_COMMANDS = [
  '+@all',
  '-@admin',
  '-@dangerous',
  // Key listing is not limited by key patterns: KEYS and SCAN would show every prefix's names.
  '-keys',
  '-scan',
  '-randomkey',
  // SCRIPT FLUSH/KILL, FUNCTION FLUSH, FCALL reach beyond the prefix; EVAL's keys are checked.
  '-@scripting',
  '+eval',
  '+evalsha',
  '+eval_ro',
  '+evalsha_ro',
  // ioredis loads a pipeline's scripts with SCRIPT EXISTS/LOAD (BullMQ pipelines EVALSHA).
  '+script|load',
  '+script|exists',
  // BullMQ asks INFO for the server's version before anything else; it reads no key.
  '+info',
] as const;

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** Whether Redis's `default` user is on and needs no password (ACL GETUSER's flags). */
async function defaultUserIsOpen(redis: Redis): Promise<boolean> {
  const reply = (await redis.call('ACL', 'GETUSER', 'default')) as unknown[] | null;
  if (!reply) return false;
  const at = reply.findIndex((v) => String(v) === 'flags');
  const flags = at >= 0 && Array.isArray(reply[at + 1]) ? (reply[at + 1] as unknown[]).map(String) : [];
  return flags.includes('on') && flags.includes('nopass');
}

/**
 * Saves the users to the server's ACL file, where it has one (a restart then keeps every
 * running preview's login); a server without one keeps them until it restarts (README).
 */
async function saveUsers(redis: Redis, logger?: Logger): Promise<void> {
  try {
    await redis.call('ACL', 'SAVE');
  } catch (error) {
    if (!(error instanceof ReplyError)) throw error;
    const refusal = (error as Error).message.split('\n')[0];
    if (/not configured to use an ACL file/i.test(refusal ?? '')) return;
    logger?.warn({ refusal }, 'the previews’ Redis did not save its ACL users: a restart loses them');
  }
}

export interface PreviewRedisOptions {
  /** PREVIEW_REDIS_URL: the server as a preview reaches it (lugh connects through it too). */
  readonly url: string;
  /** Where lugh itself reaches that server when not at `url` (a host name only the previews' network resolves). */
  readonly adminUrl?: string;
  readonly logger?: Logger;
}

export function createPreviewRedis(options: PreviewRedisOptions): PreviewRedis {
  const adminUrl = options.adminUrl ?? options.url;

  async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(adminUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new PreviewRedisError(
        `could not connect to the previews' Redis at ${shown(adminUrl)} (${(error as Error).message}): check PREVIEW_REDIS_URL and that Redis runs`,
      );
    }
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  const check = (names: PreviewNames) => {
    if (!PLAIN.test(names.redisPrefix) || !PLAIN.test(names.redisUser)) {
      throw new PreviewRedisError(
        `the preview's Redis prefix ${JSON.stringify(names.redisPrefix)} or user ${JSON.stringify(names.redisUser)} is not plain (letters, digits, _ : . -): use previewNames(pr, namespace)`,
      );
    }
  };

  return {
    async ensure(names) {
      check(names);
      const keyedBy = urlPassword(options.url) ? options.url : urlPassword(adminUrl) ? adminUrl : undefined;
      if (!keyedBy)
        throw new PreviewRedisError(
          `PREVIEW_REDIS_URL has no password: give the previews' Redis a password for its default user (requirepass, or an ACL user for lugh) and put it in PREVIEW_REDIS_URL (redis://lugh:<password>@host:6379); the preview gets no Redis until then`,
        );
      const password = derivedPassword(keyedBy, names.redisUser);
      const glob = prefixGlob(names.redisPrefix);
      await withRedis(async (redis) => {
        try {
          const open = await defaultUserIsOpen(redis);
          if (open)
            throw new PreviewRedisError(
              `the previews' Redis at ${shown(adminUrl)} lets anyone in as its default user without a password, so a preview could read and write every other preview's keys and whatever else that Redis holds: give the default user a password (requirepass, or ACL SETUSER default off) and put lugh's login in PREVIEW_REDIS_URL; the preview gets no Redis until then`,
            );
          // `reset` first: the same call twice leaves the same user, whatever it was before.
          await redis.call(
            'ACL',
            'SETUSER',
            names.redisUser,
            'reset',
            'on',
            `>${password}`,
            `~${glob}`,
            `&${glob}`,
            ...USER_COMMANDS,
          );
          await saveUsers(redis, options.logger);
        } catch (error) {
          // An old Redis (unknown command) or a login that may not manage users (NOPERM).
          if (!(error instanceof ReplyError)) throw error;
          throw new PreviewRedisError(
            `the previews' Redis at ${shown(adminUrl)} refused to make the preview's ACL user (${(error as Error).message.split('\n')[0]}): PREVIEW_REDIS_URL must log in as a user that may run ACL SETUSER/GETUSER/DELUSER (Redis 6 or later); the preview gets no Redis until then`,
          );
        }
      });
      const url = new URL(options.url);
      url.username = names.redisUser;
      url.password = password;
      return { url: url.toString(), prefix: names.redisPrefix, acl: true };
    },

    async clear(names) {
      check(names);
      return withRedis(async (redis) => {
        let removed = 0;
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(
            cursor,
            'MATCH',
            prefixGlob(names.redisPrefix),
            'COUNT',
            BATCH,
          );
          cursor = next;
          if (keys.length > 0) removed += await redis.unlink(...keys);
        } while (cursor !== '0');
        // No user there (or no ACLs at all) is nothing to delete.
        await redis.call('ACL', 'DELUSER', names.redisUser).catch((error: unknown) => {
          if (!(error instanceof ReplyError)) throw error;
        });
        await saveUsers(redis, options.logger);
        return removed;
      });
    },
  };
}
