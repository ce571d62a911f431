import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { APP_ENVS, type AppEnv, ENVIRONMENTS, otherEnv } from './environments.js';
import { type FeatureFlags, type ResolvedFlag, resolveFlags } from './feature-flags.js';
import { type FreezeWindow, isValidTimeZone, parseFreezeWindows } from './freeze-windows.js';

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Thrown by createConfig with every problem found, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable} ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  readonly appEnv: AppEnv;
  readonly isStaging: boolean;
  readonly telegram: {
    readonly token: string;
    readonly apiRoot: string;
    readonly webhookUrl?: string;
    readonly webhookSecret?: string;
  };
  readonly databaseUrl: string;
  readonly databaseName: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly home: string;
  readonly botDisplayName: string;
  readonly port: number;
  readonly adminIds: readonly number[];
  readonly flags: FeatureFlags;
  readonly flagDetails: readonly ResolvedFlag[];
  readonly github: {
    readonly token?: string;
    readonly repo?: { readonly owner: string; readonly name: string };
    readonly apiUrl: string;
    readonly webhookSecret?: string;
  };
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  readonly build: { readonly gitSha?: string; readonly buildTime?: string };
  readonly promote: {
    readonly mergeMethod: 'merge' | 'squash' | 'rebase';
    readonly ciTimeoutMs: number;
    readonly approvalTtlMs: number;
    /** Reconciling poll of CI; webhooks wake promotions sooner. */
    readonly pollIntervalMs: number;
    /** Group chats where /promote may run, besides private chats with the bot. */
    readonly allowedChatIds: readonly number[];
    readonly freezeWindows: readonly FreezeWindow[];
    readonly timeZone: string;
  };
  /** What /status shows someone who is not an admin: the short form, or a refusal. */
  readonly statusForOthers: 'short' | 'off';
  readonly deploy: {
    /**
     * `app`: the environment's container, taking deploy jobs. `preflight`: a new version
     * under its health check, which must not. `runner`: a deploy runner container.
     */
    readonly role: 'app' | 'preflight' | 'runner';
    /** The app container this instance replaces when it deploys (compose names it). */
    readonly containerName: string;
    /** Images are `<repository>:<env>-<sha12>` and `<repository>:sha-<sha12>`. */
    readonly imageRepository: string;
    /** Passed to the build as BASE_IMAGE when set (a host without a registry builds its own). */
    readonly baseImage?: string;
    readonly healthDeadlineMs: number;
    readonly verifyMs: number;
    readonly keepImages: number;
    /** Production backups kept in LUGH_HOME/backups. */
    readonly keepBackups: number;
    /** `pg_dump` before a production deploy, or `off` (recorded as skipped, with the reason). */
    readonly backup: 'pg_dump' | 'off';
  };
  /** Where deploy results, health changes, failed promotions and expired locks are announced. */
  readonly notify: {
    /** NOTIFY_CHAT_ID, or the first admin's private chat. */
    readonly chatId: number;
    readonly healthIntervalMs: number;
    /** Consecutive bad health samples before an environment is announced as degraded. */
    readonly degradedAfter: number;
    /** Consecutive good samples before it is announced as recovered. */
    readonly recoveredAfter: number;
  };
  /** Non-fatal notes found while parsing (e.g. a flag switched off by its dependency). */
  readonly warnings: readonly string[];
}

// The shape of a Bot API token: the bot's numeric id, a colon, then the secret part.
const TELEGRAM_TOKEN = /^\d{5,16}:[A-Za-z0-9_-]{30,}$/;
// Telegram's own documentation example, often pasted as-is.
const DOCUMENTED_EXAMPLE_TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
const PLACEHOLDER = /(^__.*__$)|changeme|change_me|placeholder|your[_-]?token|^x+$|^<.*>$/i;

/** A value that stands in for a secret still to be set (or Telegram's documented example token). */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim()) || value.trim() === DOCUMENTED_EXAMPLE_TOKEN;
}

const optional = (schema: z.ZodString) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http:// or https:// URL');

const minutes = (fallback: string) =>
  optional(z.string().regex(/^[1-9]\d*$/, 'must be a positive whole number of minutes')).transform((v) =>
    Number(v ?? fallback),
  );

const count = (fallback: string, what: string) =>
  optional(z.string().regex(/^[1-9]\d{0,3}$/, `must be a whole number of ${what}, 1–9999`)).transform((v) =>
    Number(v ?? fallback),
  );

const schema = z.object({
  APP_ENV: z.enum(APP_ENVS, { message: 'must be "staging" or "production"' }),
  TELEGRAM_BOT_TOKEN: z
    .string({ message: 'is required: the token @BotFather gave this environment’s bot' })
    .trim()
    .refine((v) => !isPlaceholder(v), {
      message: 'is a placeholder: put the real token from @BotFather in the untracked .env.<env>.local file',
      abort: true,
    })
    .refine(
      (v) => TELEGRAM_TOKEN.test(v),
      'is not a bot token (expected <bot id>:<secret> as @BotFather prints it)',
    ),
  DATABASE_URL: z
    .string({ message: 'is required, e.g. postgres://lugh_staging:…@localhost:5432/staging_lugh' })
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL')
    .refine((v) => URL.canParse(v) && new URL(v).pathname.length > 1, 'must name a database after the host'),
  REDIS_URL: z
    .string({ message: 'is required, e.g. redis://localhost:6379' })
    .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), 'must be a redis:// or rediss:// URL'),
  REDIS_PREFIX: optional(
    z.string().regex(/^[a-z0-9][a-z0-9:_-]*$/, 'must be lower-case letters, digits, : _ -'),
  ),
  LUGH_HOME: optional(z.string()),
  BOT_DISPLAY_NAME: optional(z.string().max(64, 'must be at most 64 characters')),
  PORT: optional(z.string().regex(/^\d+$/, 'must be a port number (1–65535)'))
    .transform((v) => (v === undefined ? undefined : Number(v)))
    .pipe(z.number().max(65535, 'must be 1–65535 (or 0: any free port)').optional()),
  ADMIN_IDS: z
    .string({
      message: 'is required: comma-separated Telegram user ids of the admins (an empty list is refused)',
    })
    .refine((v) => !PLACEHOLDER.test(v.trim()), {
      message: 'is a placeholder: put the admins’ Telegram user ids in the untracked .env.<env>.local file',
      abort: true,
    })
    .refine((v) => v.split(',').some((s) => s.trim() !== ''), {
      message: 'is empty: list at least one Telegram user id (an empty allowlist never means "everyone")',
      abort: true,
    })
    .refine(
      (v) => v.split(',').every((s) => /^\d{1,16}$/.test(s.trim())),
      'must be comma-separated numeric Telegram user ids, e.g. 12345678,87654321',
    ),
  GITHUB_TOKEN: optional(
    z
      .string()
      .refine((v) => !PLACEHOLDER.test(v), 'is a placeholder: put the real token in .env.<env>.local'),
  ),
  GITHUB_REPO: optional(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/name, e.g. acme/lugh')),
  GITHUB_API_URL: optional(httpUrl),
  TELEGRAM_API_ROOT: optional(httpUrl),
  GITHUB_WEBHOOK_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  TELEGRAM_WEBHOOK_URL: optional(httpUrl),
  TELEGRAM_WEBHOOK_SECRET: optional(
    z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1–256 characters of A–Z, a–z, 0–9, _ and -'),
  ),
  LOG_LEVEL: optional(z.string()).pipe(
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  ),
  PROMOTE_MERGE_METHOD: optional(z.string()).pipe(
    z.enum(['merge', 'squash', 'rebase'], { message: 'must be merge, squash or rebase' }).optional(),
  ),
  PROMOTE_CI_TIMEOUT_MINUTES: minutes('30'),
  PROMOTE_APPROVAL_MINUTES: minutes('15'),
  PROMOTE_POLL_SECONDS: optional(
    z.string().regex(/^[1-9]\d*$/, 'must be a whole number of seconds, at least 1'),
  ),
  PROMOTE_CHAT_IDS: optional(
    z
      .string()
      .regex(
        /^\s*-?\d+(\s*,\s*-?\d+)*\s*$/,
        'must be comma-separated Telegram chat ids, e.g. -1001234567890',
      ),
  ),
  FREEZE_WINDOWS: optional(
    z.string().refine((v) => {
      try {
        parseFreezeWindows(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be windows like "Fri 16:00-Mon 08:00", separated by ";"'),
  ),
  FREEZE_TIMEZONE: optional(
    z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
  ),
  GIT_SHA: optional(z.string()),
  BUILD_TIME: optional(z.string()),
  STATUS_FOR_OTHERS: optional(z.string()).pipe(
    z.enum(['short', 'off'], { message: 'must be short or off' }).optional(),
  ),
  LUGH_ROLE: optional(z.string()).pipe(
    z.enum(['app', 'preflight', 'runner'], { message: 'must be app, preflight or runner' }).optional(),
  ),
  DEPLOY_CONTAINER: optional(
    z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,120}$/, 'must be a Docker container name'),
  ),
  DEPLOY_IMAGE_REPOSITORY: optional(
    z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,120}$/, 'must be a lower-case Docker image repository name'),
  ),
  DEPLOY_BASE_IMAGE: optional(z.string()),
  DEPLOY_HEALTH_SECONDS: count('120', 'seconds'),
  DEPLOY_VERIFY_SECONDS: count('30', 'seconds'),
  DEPLOY_KEEP_IMAGES: count('5', 'images'),
  BACKUP_KEEP: count('7', 'backups'),
  DEPLOY_BACKUP: optional(z.string()).pipe(
    z.enum(['pg_dump', 'off'], { message: 'must be pg_dump or off' }).optional(),
  ),
  NOTIFY_CHAT_ID: optional(
    z
      .string()
      .regex(
        /^-?\d{1,16}$/,
        'must be a Telegram chat id: a user id, or a group id such as -1001234567890 (empty: the first of ADMIN_IDS)',
      ),
  ),
  NOTIFY_HEALTH_INTERVAL_SECONDS: count('20', 'seconds'),
  NOTIFY_DEGRADED_AFTER: count('3', 'health samples'),
  NOTIFY_RECOVERED_AFTER: count('2', 'health samples'),
});

function expandHome(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return path.join(homedir(), dir.slice(2));
  return path.resolve(dir);
}

function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Cross-variable rules: nothing of one environment may name the other's resources. */
interface CrossCheckInput {
  readonly appEnv: AppEnv;
  /** Each value is present only when it passed its own check, so problems are not reported twice. */
  readonly databaseUrl?: string;
  readonly redisPrefix?: string;
  readonly home?: string;
  readonly webhookUrl?: string;
  readonly webhookSecret?: string;
}

function crossEnvironmentProblems(input: CrossCheckInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { appEnv } = input;
  const own = ENVIRONMENTS[appEnv];
  const other = ENVIRONMENTS[otherEnv(appEnv)];
  const belongsToOther = (value: string) => value.toLowerCase().includes(other.marker);

  if (input.databaseUrl) {
    const dbName = databaseNameOf(input.databaseUrl);
    if (belongsToOther(dbName)) {
      problems.push({
        variable: 'DATABASE_URL',
        message: `names database "${dbName}", which belongs to ${otherEnv(appEnv)}; APP_ENV=${appEnv} must use its own database (e.g. ${own.marker}_lugh).`,
      });
    }
    const dbUser = decodeURIComponent(new URL(input.databaseUrl).username);
    if (dbUser && belongsToOther(dbUser)) {
      problems.push({
        variable: 'DATABASE_URL',
        message: `connects as role "${dbUser}", which belongs to ${otherEnv(appEnv)}; use this environment's role.`,
      });
    }
  }
  const prefix = input.redisPrefix;
  if (prefix !== undefined && prefix !== own.redisPrefix && !prefix.startsWith(`${own.redisPrefix}:`)) {
    problems.push({
      variable: 'REDIS_PREFIX',
      message: `is "${prefix}" but ${appEnv} keys must live under "${own.redisPrefix}" (or a sub-prefix "${own.redisPrefix}:…").`,
    });
  }
  if (input.home !== undefined && belongsToOther(path.basename(input.home))) {
    problems.push({
      variable: 'LUGH_HOME',
      message: `is ${input.home}, which belongs to ${otherEnv(appEnv)}; use ${own.defaultHomeDir}.`,
    });
  }
  if (input.webhookUrl && !input.webhookSecret) {
    problems.push({
      variable: 'TELEGRAM_WEBHOOK_SECRET',
      message: 'is required when TELEGRAM_WEBHOOK_URL is set, so forged updates are refused.',
    });
  }
  return problems;
}

/** Parses and checks the whole configuration once; throws ConfigError listing every problem. */
export function createConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems: ConfigProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      const message =
        issue.code === 'invalid_type' && issue.input === undefined && !issue.message.startsWith('is required')
          ? 'is required.'
          : issue.message;
      problems.push({ variable, message });
    }
  }
  const appEnv = parsed.success ? parsed.data.APP_ENV : APP_ENVS.find((e) => e === env.APP_ENV);
  const flagResult = appEnv ? resolveFlags(appEnv, env) : undefined;
  problems.push(...(flagResult?.problems ?? []));

  // The cross-environment rules run even when other variables are wrong, so one run of
  // `lugh config` lists every problem, not the first layer of them.
  if (appEnv) {
    const valid = (variable: string) => !problems.some((p) => p.variable === variable);
    const value = (variable: string) => (valid(variable) ? env[variable]?.trim() || undefined : undefined);
    const own = ENVIRONMENTS[appEnv];
    problems.push(
      ...crossEnvironmentProblems({
        appEnv,
        databaseUrl: value('DATABASE_URL'),
        redisPrefix: valid('REDIS_PREFIX') ? (value('REDIS_PREFIX') ?? own.redisPrefix) : undefined,
        home: valid('LUGH_HOME') ? expandHome(value('LUGH_HOME') ?? own.defaultHomeDir) : undefined,
        webhookUrl: value('TELEGRAM_WEBHOOK_URL'),
        webhookSecret: env.TELEGRAM_WEBHOOK_SECRET?.trim() || undefined,
      }),
    );
  }
  if (!parsed.success || !flagResult || problems.length > 0) throw new ConfigError(problems);

  const raw = parsed.data;
  const own = ENVIRONMENTS[raw.APP_ENV];
  const redisPrefix = raw.REDIS_PREFIX ?? own.redisPrefix;
  const home = expandHome(raw.LUGH_HOME ?? own.defaultHomeDir);
  if (problems.length > 0) throw new ConfigError(problems);

  const warnings = [...flagResult.warnings];
  const dbPassword = urlPassword(raw.DATABASE_URL);
  if (dbPassword && PLACEHOLDER.test(dbPassword)) {
    warnings.push(
      'DATABASE_URL has a placeholder password: put the real one in the untracked .env.<env>.local file.',
    );
  }
  const [owner, name] = raw.GITHUB_REPO?.split('/') ?? [];
  return {
    appEnv: raw.APP_ENV,
    isStaging: raw.APP_ENV === 'staging',
    telegram: {
      token: raw.TELEGRAM_BOT_TOKEN,
      apiRoot: (raw.TELEGRAM_API_ROOT ?? 'https://api.telegram.org').replace(/\/+$/, ''),
      webhookUrl: raw.TELEGRAM_WEBHOOK_URL,
      webhookSecret: raw.TELEGRAM_WEBHOOK_SECRET,
    },
    databaseUrl: raw.DATABASE_URL,
    databaseName: databaseNameOf(raw.DATABASE_URL),
    redisUrl: raw.REDIS_URL,
    redisPrefix,
    home,
    botDisplayName: raw.BOT_DISPLAY_NAME ?? own.defaultDisplayName,
    port: raw.PORT ?? own.defaultPort,
    adminIds: [...new Set(raw.ADMIN_IDS.split(',').map((s) => Number(s.trim())))],
    flags: Object.fromEntries(flagResult.flags.map((f) => [f.key, f.enabled])) as unknown as FeatureFlags,
    flagDetails: flagResult.flags,
    github: {
      token: raw.GITHUB_TOKEN,
      repo: owner && name ? { owner, name } : undefined,
      apiUrl: (raw.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
      webhookSecret: raw.GITHUB_WEBHOOK_SECRET,
    },
    logLevel: raw.LOG_LEVEL ?? 'info',
    promote: {
      mergeMethod: raw.PROMOTE_MERGE_METHOD ?? 'merge',
      ciTimeoutMs: raw.PROMOTE_CI_TIMEOUT_MINUTES * 60_000,
      approvalTtlMs: raw.PROMOTE_APPROVAL_MINUTES * 60_000,
      pollIntervalMs: Number(raw.PROMOTE_POLL_SECONDS ?? '15') * 1000,
      allowedChatIds: raw.PROMOTE_CHAT_IDS
        ? raw.PROMOTE_CHAT_IDS.split(',').map((s) => Number(s.trim()))
        : [],
      freezeWindows: raw.FREEZE_WINDOWS ? parseFreezeWindows(raw.FREEZE_WINDOWS) : [],
      timeZone: raw.FREEZE_TIMEZONE ?? 'UTC',
    },
    build: { gitSha: raw.GIT_SHA, buildTime: raw.BUILD_TIME },
    statusForOthers: raw.STATUS_FOR_OTHERS ?? 'short',
    deploy: {
      role: raw.LUGH_ROLE ?? 'app',
      containerName: raw.DEPLOY_CONTAINER ?? own.appContainer,
      imageRepository: raw.DEPLOY_IMAGE_REPOSITORY ?? 'lugh',
      baseImage: raw.DEPLOY_BASE_IMAGE,
      healthDeadlineMs: raw.DEPLOY_HEALTH_SECONDS * 1000,
      verifyMs: raw.DEPLOY_VERIFY_SECONDS * 1000,
      keepImages: raw.DEPLOY_KEEP_IMAGES,
      keepBackups: raw.BACKUP_KEEP,
      backup: raw.DEPLOY_BACKUP ?? 'pg_dump',
    },
    notify: {
      chatId: raw.NOTIFY_CHAT_ID ? Number(raw.NOTIFY_CHAT_ID) : Number(raw.ADMIN_IDS.split(',')[0]!.trim()),
      healthIntervalMs: raw.NOTIFY_HEALTH_INTERVAL_SECONDS * 1000,
      degradedAfter: raw.NOTIFY_DEGRADED_AFTER,
      recoveredAfter: raw.NOTIFY_RECOVERED_AFTER,
    },
    warnings,
  };
}

/** Every secret value in the configuration, for redaction in logs, errors and chat. */
export function secretsOf(config: Config): string[] {
  const secrets = [
    config.telegram.token,
    config.telegram.token.split(':')[1],
    config.telegram.webhookSecret,
    config.github.token,
    config.github.webhookSecret,
    urlPassword(config.databaseUrl),
    urlPassword(config.redisUrl),
  ];
  return secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

function urlPassword(url: string): string | undefined {
  const password = URL.canParse(url) ? new URL(url).password : '';
  return password ? decodeURIComponent(password) : undefined;
}

/** The configuration as `lugh config` prints it: every secret replaced by a marker. */
export function describeConfig(config: Config): Record<string, unknown> {
  const redacted = (value: string | undefined) => (value ? '[redacted]' : '(not set)');
  const redactUrl = (url: string) => {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  };
  return {
    APP_ENV: config.appEnv,
    TELEGRAM_BOT_TOKEN: `[redacted] (bot id ${config.telegram.token.split(':')[0]})`,
    TELEGRAM_API_ROOT: config.telegram.apiRoot,
    TELEGRAM_WEBHOOK_URL: config.telegram.webhookUrl ?? '(not set: long polling)',
    TELEGRAM_WEBHOOK_SECRET: redacted(config.telegram.webhookSecret),
    DATABASE_URL: redactUrl(config.databaseUrl),
    REDIS_URL: redactUrl(config.redisUrl),
    REDIS_PREFIX: config.redisPrefix,
    LUGH_HOME: config.home,
    BOT_DISPLAY_NAME: config.botDisplayName,
    PORT: config.port,
    ADMIN_IDS: config.adminIds.join(','),
    GITHUB_TOKEN: redacted(config.github.token),
    GITHUB_REPO: config.github.repo ? `${config.github.repo.owner}/${config.github.repo.name}` : '(not set)',
    GITHUB_API_URL: config.github.apiUrl,
    GITHUB_WEBHOOK_SECRET: redacted(config.github.webhookSecret),
    LOG_LEVEL: config.logLevel,
    PROMOTE_MERGE_METHOD: config.promote.mergeMethod,
    PROMOTE_CI_TIMEOUT_MINUTES: config.promote.ciTimeoutMs / 60_000,
    PROMOTE_APPROVAL_MINUTES: config.promote.approvalTtlMs / 60_000,
    PROMOTE_POLL_SECONDS: config.promote.pollIntervalMs / 1000,
    PROMOTE_CHAT_IDS: config.promote.allowedChatIds.join(',') || '(none: private chats only)',
    FREEZE_WINDOWS: config.promote.freezeWindows.map((w) => w.text).join('; ') || '(none)',
    FREEZE_TIMEZONE: config.promote.timeZone,
    GIT_SHA: config.build.gitSha ?? '(not set)',
    BUILD_TIME: config.build.buildTime ?? '(not set)',
    STATUS_FOR_OTHERS: config.statusForOthers,
    DEPLOY_CONTAINER: config.deploy.containerName,
    DEPLOY_IMAGE_REPOSITORY: config.deploy.imageRepository,
    DEPLOY_BASE_IMAGE: config.deploy.baseImage ?? '(the Dockerfile’s default)',
    DEPLOY_HEALTH_SECONDS: config.deploy.healthDeadlineMs / 1000,
    DEPLOY_VERIFY_SECONDS: config.deploy.verifyMs / 1000,
    DEPLOY_KEEP_IMAGES: config.deploy.keepImages,
    BACKUP_KEEP: config.deploy.keepBackups,
    DEPLOY_BACKUP: config.deploy.backup,
    NOTIFY_CHAT_ID: config.notify.chatId,
    NOTIFY_HEALTH_INTERVAL_SECONDS: config.notify.healthIntervalMs / 1000,
    NOTIFY_DEGRADED_AFTER: config.notify.degradedAfter,
    NOTIFY_RECOVERED_AFTER: config.notify.recoveredAfter,
    flags: Object.fromEntries(
      config.flagDetails.map((f) => [
        f.key,
        `${f.enabled ? 'on' : 'off'} (${f.source}${f.disabledBy ? `, needs ${f.disabledBy}` : ''})`,
      ]),
    ),
  };
}
