import * as z from 'zod';
import { isBotToken } from './bot-token.js';
import { APP_ENVS, ENVIRONMENTS } from './environments.js';
import { expandHome } from './ownership.js';
import { isPlaceholder, PLACEHOLDER } from './placeholder.js';
import {
  httpUrl,
  numbersOf,
  oneOf,
  optional,
  orElse,
  redacted,
  redactUrl,
  telegramWebhookUrl,
  urlPassword,
  withoutTrailingSlash,
} from './schemas.js';
import { setting } from './setting.js';
import { standInSender } from './telegram-senders.js';

export { expandHome };

const code = (text: string | number) => `\`${text}\``;
const whole = (value: string) => [value];

/**
 * The instance: which environment it is, its bot, its stores, its admins, GitHub and its
 * logs. (The order of every table is the order `lugh config` prints.)
 */
export const coreSettings = {
  appEnv: setting({
    variable: 'APP_ENV',
    schema: z.enum(APP_ENVS, { message: 'must be "staging" or "production"' }),
    description: 'the only switch',
    docs: code,
  }),
  telegram: {
    token: setting({
      variable: 'TELEGRAM_BOT_TOKEN',
      schema: z
        .string({ message: 'is required: the token @BotFather gave this environment’s bot' })
        .trim()
        .refine((v) => !isPlaceholder(v), {
          message:
            'is a placeholder: put the real token from @BotFather in the untracked .env.<env>.local file',
          abort: true,
        })
        .refine(isBotToken, 'is not a bot token (expected <bot id>:<secret> as @BotFather prints it)'),
      // Its secret half travels alone too (e.g. split out of a Bot API URL).
      secret: (token) => [token, token.split(':')[1]],
      describe: (token) => `[redacted] (bot id ${token.split(':')[0]})`,
      description: 'never equal across environments',
      docs: (env) => `${ENVIRONMENTS[env].defaultDisplayName}'s bot`,
    }),
    apiRoot: setting({
      variable: 'TELEGRAM_API_ROOT',
      schema: optional(httpUrl).transform(withoutTrailingSlash),
      default: 'https://api.telegram.org',
      description: 'another Bot API server (tests, sandbox, a local Bot API)',
    }),
    webhookUrl: setting({
      variable: 'TELEGRAM_WEBHOOK_URL',
      schema: optional(telegramWebhookUrl),
      describe: orElse('(not set: long polling)'),
      description:
        'unset means long polling; HTTPS on port 443, 80, 88 or 8443, as Telegram requires (any URL on 127.0.0.1, for a local Bot API server)',
    }),
    webhookSecret: setting({
      variable: 'TELEGRAM_WEBHOOK_SECRET',
      schema: optional(
        z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1–256 characters of A–Z, a–z, 0–9, _ and -'),
      ),
      secret: whole,
      describe: redacted,
      description: 'required with `TELEGRAM_WEBHOOK_URL`, so forged updates are refused',
    }),
  },
  databaseUrl: setting({
    variable: 'DATABASE_URL',
    schema: z
      .string({ message: 'is required, e.g. postgres://lugh_staging:…@localhost:5432/staging_lugh' })
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL')
      .refine(
        (v) => URL.canParse(v) && new URL(v).pathname.length > 1,
        'must name a database after the host',
      ),
    secret: (url) => [urlPassword(url)],
    describe: redactUrl,
    description: 'its password is secret; database and role are named for the environment',
    docs: (env) => code(`…/${ENVIRONMENTS[env].marker}_lugh`),
  }),
  redisUrl: setting({
    variable: 'REDIS_URL',
    schema: z
      .string({ message: 'is required, e.g. redis://localhost:6379' })
      .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), 'must be a redis:// or rediss:// URL'),
    secret: (url) => [urlPassword(url)],
    describe: redactUrl,
    description: 'its password is secret; both environments may share the server',
    docs: () => 'same server',
  }),
  redisPrefix: setting({
    variable: 'REDIS_PREFIX',
    schema: optional(z.string().regex(/^[a-z0-9][a-z0-9:_-]*$/, 'must be lower-case letters, digits, : _ -')),
    default: ({ environment }) => environment.redisPrefix,
    description: 'every key lives under it; a sub-prefix such as `staging:ci1` is allowed',
  }),
  home: setting({
    variable: 'LUGH_HOME',
    schema: optional(z.string()).transform((dir) => (dir === undefined ? undefined : expandHome(dir))),
    default: ({ environment }) => expandHome(environment.defaultHomeDir),
    description: 'backups, build cache, state',
    docs: (env) => code(ENVIRONMENTS[env].defaultHomeDir),
  }),
  botDisplayName: setting({
    variable: 'BOT_DISPLAY_NAME',
    schema: optional(z.string().max(64, 'must be at most 64 characters')),
    default: ({ environment }) => environment.defaultDisplayName,
    description: 'the name the bot signs with',
  }),
  port: setting({
    variable: 'PORT',
    schema: optional(z.string().regex(/^\d+$/, 'must be a port number (1–65535)'))
      .transform((v) => (v === undefined ? undefined : Number(v)))
      .pipe(z.number().max(65535, 'must be 1–65535 (or 0: any free port)').optional()),
    default: ({ environment }) => environment.defaultPort,
    description: '`/healthz`, `/version`, `/webhooks/telegram`; 0 picks a free port',
  }),
  adminIds: setting({
    variable: 'ADMIN_IDS',
    schema: z
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
      )
      .superRefine((v, ctx) => {
        for (const id of numbersOf(v)) {
          const who = standInSender(id);
          if (who)
            ctx.addIssue({
              code: 'custom',
              message: `holds ${id}, which is ${who}, not a person: it would make everyone who writes that way an admin. Remove it; anonymous admins must turn off "Remain anonymous" and use their own id.`,
            });
        }
      })
      .transform((v): readonly number[] => [...new Set(numbersOf(v))]),
    describe: (ids) => ids.join(','),
    description: 'comma-separated Telegram user ids; never empty',
    docs: (env) => (env === 'staging' ? 'Telegram user ids' : 'same or fewer'),
  }),
  github: {
    token: setting({
      variable: 'GITHUB_TOKEN',
      schema: optional(
        z
          .string()
          .refine((v) => !PLACEHOLDER.test(v), 'is a placeholder: put the real token in .env.<env>.local'),
      ),
      secret: whole,
      describe: redacted,
      description: 'without it and `GITHUB_REPO`, lugh does not talk to GitHub',
    }),
    repo: setting({
      variable: 'GITHUB_REPO',
      schema: optional(
        z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/name, e.g. acme/lugh'),
      ).transform((v): { readonly owner: string; readonly name: string } | undefined => {
        const [owner, name] = v?.split('/') ?? [];
        return owner && name ? { owner, name } : undefined;
      }),
      describe: (repo) => (repo ? `${repo.owner}/${repo.name}` : '(not set)'),
      description: 'owner/name of the repository lugh promotes and deploys',
    }),
    apiUrl: setting({
      variable: 'GITHUB_API_URL',
      schema: optional(httpUrl).transform(withoutTrailingSlash),
      default: 'https://api.github.com',
      description: 'another GitHub API server (tests, sandbox, GitHub Enterprise)',
    }),
    webhookSecret: setting({
      variable: 'GITHUB_WEBHOOK_SECRET',
      schema: optional(z.string().min(16, 'must be at least 16 characters')),
      secret: whole,
      describe: redacted,
      description: '≥ 16 characters: the HMAC key of GitHub’s webhook deliveries',
    }),
  },
  logLevel: setting({
    variable: 'LOG_LEVEL',
    schema: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    default: 'info',
    description: 'pino levels (`.env.staging` sets `debug`)',
  }),
};
