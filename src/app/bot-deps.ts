import path from 'node:path';
import type { BotDeps } from '../bot/context.js';
import type { Config } from '../config/index.js';
import { createDeployControl } from '../deploys/deploy-control.js';
import { createRestoreControl } from '../deploys/restore-control.js';
import type { ExpectedFailures } from '../doctor/audit.js';
import type { SettingsFallback } from '../doctor/facts.js';
import type { Logger } from '../logger.js';
import type { ChatMigrations } from '../notifications/chat-migrations.js';
import type { ChatReach } from '../notifications/chat-reach.js';
import type { PromotionService } from '../promotion/promotion-service.js';
import { createRunningVersion, createVersionLookup } from '../status/version-lookup.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Pool } from '../store/pool.js';
import { keyspace } from '../store/redis.js';
import { createRestoreStore } from '../store/restores.js';
import { createUpdateClaims } from '../store/update-claims.js';
import { gitShaOf } from './build-info.js';
import type { DeployParts } from './deploy-parts.js';
import { buildDoctor } from './doctor.js';
import { githubCheckOf } from './github-check.js';
import { buildRefreshControl } from './refresh.js';
import { containerLogTail, setContainers } from './service-containers.js';
import { buildStatusService, type StatusParts } from './status.js';

/** What every chat feature may use (see BotDeps). */
export function buildBotDeps(
  config: Config,
  logger: Logger,
  parts: StatusParts & {
    readonly audit: AuditLog;
    readonly redact: (text: string) => string;
    readonly promotion?: PromotionService;
    readonly deploys: DeployParts;
    readonly pool: Pool;
    readonly chatMigrations: ChatMigrations;
    readonly chatReach: ChatReach;
    readonly doctorSettings?: SettingsFallback;
    readonly doctorExpected?: ExpectedFailures;
    readonly previewNamespace?: string;
    /** Whether the Telegram runtime takes this update now (it is built after the bot). */
    readonly takesUpdate: (updateId: number) => boolean;
    /** Whether the runtime knows the update is new here (its claim is then written behind). */
    readonly knowsNew: (updateId: number) => boolean;
    readonly metrics: BotDeps['metrics'];
    readonly conversationStates: BotDeps['conversationStorage'];
    readonly conversationCache?: BotDeps['conversationCache'];
  },
): BotDeps {
  const { audit, deploys, redis, otherPrefix, docker } = parts;
  const claims = createUpdateClaims(redis, keyspace(config.redisPrefix));
  return {
    config,
    logger,
    audit,
    redact: parts.redact,
    promotion: parts.promotion,
    status: buildStatusService(config, {
      ...parts,
      unreachableAdmins: () => parts.chatReach.current()?.unreachableAdmins,
    }),
    deploys: createDeployControl({
      env: config.appEnv,
      deployments: deploys.deployments,
      locks: deploys.locks,
      audit,
      enqueue: async (...args) => (await deploys.engine()).enqueue(...args),
      containerLogs: async (lines, container) =>
        container ? containerLogTail(await docker(), container, lines) : (await deploys.engine()).logs(lines),
      serviceContainers: async () => setContainers(await docker(), config.deploy.containerName),
      confirmMs: 5 * 60_000,
      forge: parts.forge,
    }),
    runningVersion: createRunningVersion({
      env: config.appEnv,
      deployments: deploys.deployments,
      buildSha: config.build.gitSha ?? null,
      lookup: parts.forge ? createVersionLookup(parts.forge) : undefined,
    }),
    // Only production backs up before a deploy, so only production has backups to restore.
    restore:
      config.appEnv === 'production'
        ? createRestoreControl({
            env: config.appEnv,
            databaseUrl: config.databaseUrl,
            dir: path.join(config.home, 'backups'),
            keep: config.deploy.keepBackups,
            deployments: deploys.deployments,
            locks: deploys.locks,
            audit,
            restores: createRestoreStore(parts.pool),
          })
        : undefined,
    conversationStorage: parts.conversationStates,
    conversationCache: parts.conversationCache,
    doctor: buildDoctor(config, {
      docker,
      redis,
      otherPrefix,
      settings: parts.doctorSettings,
      expected: parts.doctorExpected,
      previewNamespace: parts.previewNamespace,
      github: githubCheckOf(config, logger),
      forge: parts.forge,
    }),
    updateGate: { mayTake: parts.takesUpdate, claim: claims.claim, knowsNew: parts.knowsNew },
    metrics: parts.metrics,
    chatMigrations: parts.chatMigrations,
    chatReach: parts.chatReach,
    previews: parts.previews,
    offers: deploys.deployments,
    refresh: buildRefreshControl(config, {
      locks: deploys.locks,
      forge: parts.forge,
      gitSha: () => gitShaOf(config),
    }),
  };
}
