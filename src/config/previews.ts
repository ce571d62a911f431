import * as z from 'zod';
import type { AppEnv } from './environments.js';
import { count, optional, orElse, redactUrl, urlPassword } from './schemas.js';
import { setting } from './setting.js';

/** `{n}` in PREVIEW_URL_TEMPLATE: where a preview's pull request number goes. */
export const PR_PLACEHOLDER = '{n}';

/** Whether `{n}` stands in the template's host or path, which the proxy can route by (not its port, query or fragment). */
function placesNumber(template: string): boolean {
  const [a, b] = ['1', '2'].map((n) => template.replaceAll(PR_PLACEHOLDER, n));
  if (!a || !b || !URL.canParse(a) || !URL.canParse(b)) return false;
  const [ua, ub] = [new URL(a), new URL(b)];
  return (['protocol', 'username', 'password', 'port', 'search', 'hash'] as const).every(
    (k) => ua[k] === ub[k],
  );
}

/** The README's cells: the staging default, and production never runs previews. */
const stagingOnly = (staging: string) => (env: AppEnv) =>
  env === 'staging' ? staging : '(unused: staging only)';

/**
 * Preview environments (flag `previews`, staging only): one running copy per pull request
 * into develop, with its own container, network, database, role and Redis prefix, reached
 * through a reverse proxy lugh configures at run time (Caddy's admin API). See README,
 * “Preview environments”.
 */
export const previewSettings = {
  previews: {
    urlTemplate: setting({
      variable: 'PREVIEW_URL_TEMPLATE',
      docs: stagingOnly(''),
      schema: optional(
        z
          .string()
          .refine((v) => URL.canParse(v.replaceAll(PR_PLACEHOLDER, '1')), 'must be an http(s) URL')
          .refine((v) => /^https?:\/\//.test(v), 'must be an http:// or https:// URL')
          .refine(
            (v) => v.includes(PR_PLACEHOLDER),
            'must contain {n}, where the pull request number goes, e.g. https://pr-{n}.preview.example.com',
          )
          .refine(
            (v) =>
              !v.includes(PR_PLACEHOLDER) ||
              !URL.canParse(v.replaceAll(PR_PLACEHOLDER, '1')) ||
              placesNumber(v),
            'must put {n} in the host (https://pr-{n}.preview.example.com) or the path (https://preview.example.com/pr-{n}/): the proxy routes by one of them',
          ),
      ),
      describe: orElse('(none: previews are off unless FEATURE_PREVIEWS says otherwise)'),
      description:
        'each preview’s address, `{n}` the pull request number: a host (`https://pr-{n}.preview.example.com`) or a path under one (`https://preview.example.com/pr-{n}/`); setting it turns the `previews` flag on for staging',
    }),
    proxyAdminUrl: setting({
      variable: 'PREVIEW_PROXY_ADMIN_URL',
      docs: stagingOnly(''),
      schema: optional(
        z.string().refine((v) => /^https?:\/\/[^/]+\/?$/.test(v), 'must be http://<host>:<port>'),
      ),
      describe: orElse('(none: each preview publishes its port on 127.0.0.1)'),
      description:
        'Caddy’s admin API (e.g. `http://127.0.0.1:2019`): lugh adds and removes a route per preview at run time, no restart; unset: each preview’s port is published on 127.0.0.1 and its URL is that port (the sandbox’s fallback)',
    }),
    proxyContainer: setting({
      variable: 'PREVIEW_PROXY_CONTAINER',
      docs: stagingOnly(''),
      schema: optional(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a container name')),
      describe: orElse('(none: the proxy runs on the host)'),
      description:
        'the proxy’s container when it runs in Docker: lugh connects it to each preview’s network so it can reach the preview',
    }),
    max: setting({
      variable: 'PREVIEW_MAX',
      docs: stagingOnly('`3`'),
      schema: count('previews'),
      default: 3,
      description:
        'previews running at once; a new one stops the one idle longest (with a comment on its pull request)',
    }),
    ttlMs: setting({
      variable: 'PREVIEW_TTL_HOURS',
      docs: stagingOnly('`72`'),
      schema: count('hours', 3_600_000),
      default: 72 * 3_600_000,
      describe: (ms) => ms / 3_600_000,
      description: 'a preview with no push for this long is stopped',
    }),
    databaseAdminUrl: setting({
      variable: 'PREVIEW_DATABASE_ADMIN_URL',
      docs: stagingOnly(''),
      schema: optional(
        z
          .string()
          .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), 'must be a postgres:// URL'),
      ),
      secret: (url) => [urlPassword(url)],
      describe: (v) => (v ? redactUrl(v) : '(none: previews get no database)'),
      description:
        'a role on staging’s Postgres server that may create databases and roles (CREATEDB CREATEROLE, never production’s server): each preview gets the database `preview_pr_<n>` owned by its own role; its password is secret',
    }),
    databaseHost: setting({
      variable: 'PREVIEW_DATABASE_HOST',
      docs: stagingOnly(''),
      schema: optional(z.string().regex(/^[a-zA-Z0-9_.-]+(:\d+)?$/, 'must be host or host:port')),
      describe: orElse('(the admin URL’s)'),
      description:
        'where a preview reaches that Postgres server (host or host:port), when not the admin URL’s host',
    }),
    dataNetwork: setting({
      variable: 'PREVIEW_DATA_NETWORK',
      docs: stagingOnly(''),
      schema: optional(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a Docker network name')),
      describe: orElse('(none)'),
      description:
        'a Docker network each preview joins besides its own, to reach staging’s Postgres and Redis (never production’s network: `lugh config` refuses it)',
    }),
    redisUrl: setting({
      variable: 'PREVIEW_REDIS_URL',
      docs: stagingOnly(''),
      schema: optional(
        z.string().refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), 'must be a redis:// URL'),
      ),
      secret: (url) => [urlPassword(url)],
      describe: (v) => (v ? redactUrl(v) : '(none: previews get no Redis)'),
      description:
        'the Redis server as a preview reaches it, with lugh’s login (a password required: its default user must need one, and the login must manage ACL users); lugh gives each preview the prefix `preview:pr<n>:` and an ACL user limited to it, else no Redis',
    }),
    port: setting({
      variable: 'PREVIEW_PORT',
      docs: stagingOnly('`8080`'),
      schema: count('port'),
      default: 8080,
      description: 'the port the app listens on inside a preview container (its `PORT`)',
    }),
    memoryBytes: setting({
      variable: 'PREVIEW_MEMORY_MB',
      docs: stagingOnly('`256`'),
      schema: count('MiB', 2 ** 20).refine(
        (b) => b === undefined || b >= 16 * 2 ** 20,
        'must be at least 16 (MiB): Docker refuses less than 6, and an app needs more',
      ),
      default: 256 * 2 ** 20,
      describe: (b) => b / 2 ** 20,
      description: 'memory limit of each preview container (staging’s is 384)',
    }),
    nanoCpus: setting({
      variable: 'PREVIEW_CPUS',
      docs: stagingOnly('`0.25`'),
      schema: optional(
        z
          .string()
          .regex(/^\d+(\.\d+)?$/, 'must be a number of CPUs, e.g. 0.25')
          .refine((v) => Number(v) >= 0.01, 'must be at least 0.01: 0 would mean no CPU limit at all'),
      ).transform((v) => (v === undefined ? undefined : Math.round(Number(v) * 1e9))),
      default: 0.25e9,
      describe: (n) => n / 1e9,
      description: 'CPU limit of each preview container',
    }),
    minFreeMemoryBytes: setting({
      variable: 'PREVIEW_MIN_FREE_MEMORY_MB',
      docs: stagingOnly('`512`'),
      schema: count('MiB', 2 ** 20),
      default: 512 * 2 ** 20,
      describe: (b) => b / 2 ** 20,
      description:
        'a preview does not start while the host has less memory available (said on the pull request)',
    }),
    minFreeDiskBytes: setting({
      variable: 'PREVIEW_MIN_FREE_DISK_MB',
      docs: stagingOnly('`2048`'),
      schema: count('MiB', 2 ** 20),
      default: 2048 * 2 ** 20,
      describe: (b) => b / 2 ** 20,
      description: 'a preview does not start while the disk has less room (said on the pull request)',
    }),
  },
};
