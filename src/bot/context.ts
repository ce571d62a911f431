import type { ConversationData, ConversationFlavor, VersionedStateStorage } from '@grammyjs/conversations';
import type { Composer, Context } from 'grammy';
import type { AppEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import type { DeployControl } from '../deploys/deploy-control.js';
import type { RestoreControl } from '../deploys/restore-control.js';
import type { AuditReport } from '../doctor/audit.js';
import type { ForgeSetupReport } from '../forge/setup-check.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChatMigrations } from '../notifications/chat-migrations.js';
import type { ChatReach } from '../notifications/chat-reach.js';
import type { Previews } from '../previews/preview.js';
import type { PromotionService } from '../promotion/promotion-service.js';
import type { RefreshControl } from '../refresh/staging-refresh.js';
import type { StatusService } from '../status/status-service.js';
import type { RunningVersion } from '../status/version-lookup.js';
import type { AuditLog } from '../store/audit-log.js';
import type { ButtonOffers } from '../store/button-offers.js';

/** What every feature may use; put on `ctx.deps` by one middleware in createBot. */
export interface BotDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly audit: AuditLog;
  /** Removes secrets from text that may reach a chat (e.g. an error message). */
  readonly redact: (text: string) => string;
  /** The develop → main promotion; only the staging instance has one. */
  readonly promotion?: PromotionService;
  /** /status: both environments, asked at once with deadlines. */
  readonly status?: StatusService;
  /** This instance's deploys: /deploy, /lock, /history, /logs. Absent without a Docker engine. */
  readonly deploys?: DeployControl;
  /** /restore: production's database from a backup. Production only. */
  readonly restore?: RestoreControl;
  /**
   * /doctor: the isolation audit of the Docker host both environments run on, and (when
   * GitHub is configured) `lugh github check`'s report.
   */
  readonly doctor?: { run(): Promise<AuditReport>; github?(): Promise<ForgeSetupReport> };
  /** Where conversations persist between updates and restarts (Redis, under the prefix). */
  readonly conversationStorage?: VersionedStateStorage<string, ConversationData>;
  /** When given, chats' conversation states are cached within it (no read per update). */
  readonly conversationCache?: ConversationCacheScope;
  /** Each update handled at most once per environment, across poller handovers and redeliveries. */
  readonly updateGate?: UpdateGate;
  /** Counts each update and its handling time (/metrics). */
  readonly metrics?: Pick<Metrics, 'telegramUpdate'>;
  /** Groups that became supergroups, followed and remembered. */
  readonly chatMigrations?: ChatMigrations;
  /** Which chats the bot may write to; told when a chat writes (features/start.ts). */
  readonly chatReach?: Pick<ChatReach, 'wrote' | 'current'>;
  /** The version this environment runs (last successful deploy, else the build); /whoami names it. */
  readonly runningVersion?: () => Promise<RunningVersion>;
  /** /previews: the preview environments (staging with the flag `previews` on; absent elsewhere). */
  readonly previews?: Previews;
  /** Whose buttons are whose and until when (button_offers): /previews' lists and confirmations. */
  /** /refresh staging (production, flag `staging_refresh`, its settings set). */
  readonly refresh?: RefreshControl;
  readonly offers?: Pick<ButtonOffers, 'createButtonOffer' | 'buttonOffer' | 'useButtonOffer'>;
}

export interface UpdateGate {
  /** False once this instance stopped taking updates (stopping, or its poller lease is gone). */
  mayTake(updateId: number): boolean;
  /** True for the first instance of the environment to claim the update. */
  claim(updateId: number): Promise<boolean>;
  /**
   * True when this instance knows by itself that the update was never handled in the
   * environment (TelegramRuntime.knowsNew): its claim is then written behind, not awaited.
   */
  knowsNew?(updateId: number): boolean;
}

/**
 * Where a cache of conversation state may hold: `epoch()` is undefined while no cache may
 * be trusted (webhook mode, no lease, not listening for other instances' writes) and
 * changes whenever entries cached before may be stale; `listen` is told the chat key of
 * each state another instance wrote.
 */
export interface ConversationCacheScope {
  epoch(): string | undefined;
  listen(written: (key: string) => void): void;
}

export interface CommandInfo {
  readonly command: string;
  readonly description: string;
  /** `admin`: only ADMIN_IDS may run it; everyone else is refused and the refusal audited. */
  readonly access: 'everyone' | 'admin';
  /** The one environment whose bot does it; the other bot only points there, and lists it nowhere. */
  readonly only?: AppEnv;
}

export type BotContext = ConversationFlavor<
  Context & {
    deps: BotDeps;
    /** Every command this bot offers, for /help and setMyCommands. */
    commands: readonly CommandInfo[];
    isAdmin: boolean;
  }
>;

/** One command (or a few related ones) as a Composer, plus what /help says of it. */
export interface Feature {
  readonly commands: readonly CommandInfo[];
  readonly composer: Composer<BotContext>;
}
