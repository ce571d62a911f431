import type { AppEnv } from '../../config/environments.js';
import type { SandboxServices } from '../sandbox-services.js';
import { sandboxDockerNames } from './demo-apps.js';

/** The environment of one sandbox instance: everything points at the sandbox's services. */
export function sandboxInstanceEnv(
  services: SandboxServices,
  appEnv: AppEnv,
  logLevel: string,
  docker: { id: string; baseImage?: string; embedded: Readonly<Record<AppEnv, boolean>> },
  keys: { readonly signingKey: string; readonly verifyKey: string },
  notifyGroupId?: number,
  /** Staging's preview settings (sandbox-previews.ts); production never runs previews. */
  previews: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const names = sandboxDockerNames(docker.id);
  return {
    APP_ENV: appEnv,
    TELEGRAM_BOT_TOKEN: services.bots[appEnv].token,
    TELEGRAM_API_ROOT: services.telegram.apiRoot,
    BOT_DISPLAY_NAME: services.bots[appEnv].displayName,
    DATABASE_URL: services.databaseUrls[appEnv],
    REDIS_URL: services.redisUrl,
    LUGH_HOME: services.homes[appEnv],
    PORT: String(services.ports[appEnv]),
    ADMIN_IDS: String(services.users.admin.id),
    // Production reports to the ops group as well as to the requester, who may not have
    // opened a chat with it yet (Telegram lets no bot write first): the group still hears it.
    ...(appEnv === 'production' && notifyGroupId !== undefined
      ? { NOTIFY_CHAT_ID: String(notifyGroupId) }
      : {}),
    GITHUB_TOKEN: services.githubToken,
    GITHUB_REPO: `${services.github.repo.owner}/${services.github.repo.name}`,
    GITHUB_API_URL: services.github.apiUrl,
    GITHUB_WEBHOOK_SECRET: services.githubWebhookSecret,
    // The sandbox's CI takes seconds, not minutes: look often.
    PROMOTE_POLL_SECONDS: '5',
    // Each side holds its own half of the sandbox's promotion key pair.
    ...(appEnv === 'staging'
      ? { PROMOTE_SIGNING_KEY: keys.signingKey }
      : { PROMOTE_VERIFY_KEY: keys.verifyKey }),
    // Its own names on the Docker engine: a sandbox never touches a real lugh container.
    DEPLOY_CONTAINER: names.container(appEnv),
    DEPLOY_IMAGE_REPOSITORY: names.repository,
    ...(docker.baseImage ? { DEPLOY_BASE_IMAGE: docker.baseImage } : {}),
    DEPLOY_HEALTH_SECONDS: '60',
    DEPLOY_VERIFY_SECONDS: '5',
    // pg_dump cannot dump the embedded PGlite (and would share its one session).
    ...(docker.embedded[appEnv] ? { DEPLOY_BACKUP: 'off' } : {}),
    LOG_LEVEL: logLevel,
    ...(appEnv === 'staging' ? previews : {}),
  };
}
