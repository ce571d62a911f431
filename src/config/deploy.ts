import * as z from 'zod';
import { count, oneOf, optional, orElse, redacted } from './schemas.js';
import { setting } from './setting.js';

/** The running build, what /status tells others, and how this instance deploys. */
export const deploySettings = {
  build: {
    gitSha: setting({
      variable: 'GIT_SHA',
      schema: optional(z.string()),
      describe: orElse('(not set)'),
      description: 'baked into the image; shown by `/version` and `/whoami`',
    }),
    buildTime: setting({
      variable: 'BUILD_TIME',
      schema: optional(z.string()),
      describe: orElse('(not set)'),
      description: 'baked into the image; shown by `/version`',
    }),
  },
  statusForOthers: setting({
    variable: 'STATUS_FOR_OTHERS',
    schema: oneOf(['short', 'off'], 'must be short or off'),
    default: 'short',
    description: 'what /status shows someone who is not an admin: `short` or `off`',
  }),
  deploy: {
    role: setting({
      variable: 'LUGH_ROLE',
      schema: oneOf(['app', 'preflight', 'runner'], 'must be app, preflight or runner'),
      default: 'app',
      // Set by the deployer on the containers it starts, never by hand.
      describe: 'hidden',
      description:
        'set by the deployer: `preflight` (a new version under its health check) and `runner` containers take no deploy jobs',
    }),
    containerName: setting({
      variable: 'DEPLOY_CONTAINER',
      schema: optional(
        z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,120}$/, 'must be a Docker container name'),
      ),
      default: ({ environment, runtime }) =>
        runtime === 'swarm' ? environment.swarmService : environment.appContainer,
      description:
        'the app container a deploy replaces (compose’s `container_name`); with `DEPLOY_RUNTIME=swarm`, the app’s Swarm service (default `lugh-staging_staging-app`, `lugh-prod_prod-app`)',
    }),
    runtime: setting({
      variable: 'DEPLOY_RUNTIME',
      schema: oneOf(['docker', 'swarm'], 'must be docker or swarm'),
      default: 'docker',
      description:
        '`docker`: lugh switches the app container on the engine it runs on; `swarm`: the app is a Swarm service (`DEPLOY_CONTAINER` names it) and a deploy is a service update Swarm carries out (README “Docker Swarm”)',
    }),
    registry: setting({
      variable: 'DEPLOY_REGISTRY',
      schema: optional(
        z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9.-]*(:\d+)?(\/[a-z0-9][a-z0-9._/-]*)?$/,
            'must be a registry host[:port][/path], e.g. 127.0.0.1:5000 or ghcr.io/acme',
          ),
      ),
      describe: orElse('(none: images stay on the engine that built them)'),
      description:
        'an image registry: each build is pushed as `<registry>/<repository>:sha-<sha12>` and deployed by its digest, so every node runs the same bytes',
    }),
    registryUsername: setting({
      variable: 'DEPLOY_REGISTRY_USERNAME',
      schema: optional(z.string()),
      describe: orElse('(none: the registry takes anonymous pushes)'),
      description: 'the registry’s user, with `DEPLOY_REGISTRY_PASSWORD`',
    }),
    registryPassword: setting({
      variable: 'DEPLOY_REGISTRY_PASSWORD',
      schema: optional(z.string()),
      secret: (value) => [value],
      describe: redacted,
      description:
        'the registry user’s password or token (a secret: `DEPLOY_REGISTRY_PASSWORD_FILE` reads it from a file)',
    }),
    imageRepository: setting({
      variable: 'DEPLOY_IMAGE_REPOSITORY',
      schema: optional(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9._/-]{0,120}$/, 'must be a lower-case Docker image repository name'),
      ),
      default: 'lugh',
      description:
        'images are `<repository>:<env>-<sha12>`, `<repository>:sha-<sha12>` and `<repository>:tree-<tree12>-<args8>`',
    }),
    baseImage: setting({
      variable: 'DEPLOY_BASE_IMAGE',
      schema: optional(z.string()),
      describe: orElse('(the Dockerfile’s default)'),
      description: '`BASE_IMAGE` build argument (unset: the Dockerfile’s `node:20-bookworm-slim`)',
    }),
    healthDeadlineMs: setting({
      variable: 'DEPLOY_HEALTH_SECONDS',
      schema: count('seconds', 1000),
      default: 120_000,
      describe: (ms) => ms / 1000,
      description: 'how long a new version may take to become healthy',
    }),
    verifyMs: setting({
      variable: 'DEPLOY_VERIFY_SECONDS',
      schema: count('seconds', 1000),
      default: 30_000,
      describe: (ms) => ms / 1000,
      description:
        'how long a new version must stay healthy after the switch (a rollback to a release that ran: at most 1 s)',
    }),
    proxyAdminUrl: setting({
      variable: 'DEPLOY_PROXY_ADMIN_URL',
      schema: optional(
        z
          .string()
          .refine(
            (v) => /^tcp:\/\/[^/]+:\d+$/.test(v) || /^unix:\/\/\/./.test(v),
            'must be tcp://<host>:<port> or unix:///<path> (HAProxy’s stats socket)',
          ),
      ),
      describe: orElse('(none: the app container owns its port)'),
      description:
        'the runtime API (`stats socket … level admin`) of an HAProxy in front of the app, e.g. `tcp://127.0.0.1:9999`: a switch points the server `app` of its backend named after the app container at a healthy container, so no request fails (README: “A switch that drops no request”)',
    }),
    keepImages: setting({
      variable: 'DEPLOY_KEEP_IMAGES',
      schema: count('images'),
      default: 5,
      description: 'images of the environment kept by cleanup',
    }),
    keepBackups: setting({
      variable: 'BACKUP_KEEP',
      schema: count('backups'),
      default: 7,
      description: 'production backups kept in `LUGH_HOME/backups`',
    }),
    backup: setting({
      variable: 'DEPLOY_BACKUP',
      schema: oneOf(['pg_dump', 'off'], 'must be pg_dump or off'),
      default: 'pg_dump',
      description:
        '`pg_dump`, or `off`: no backup, recorded as skipped with the reason (the sandbox’s embedded Postgres)',
    }),
    failpoints: setting({
      variable: 'LUGH_FAILPOINTS',
      schema: optional(z.string()),
      describe: orElse('(none)'),
      description:
        'fault tests only: where a deploy pauses for the test to kill it, e.g. `switch:after-stop*2,step:build` (`name@20s`: for 20 s only; see `deployer/failpoints.ts`)',
    }),
  },
};
