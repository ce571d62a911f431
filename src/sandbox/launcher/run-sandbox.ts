import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { forgeOf } from '../../app/forge.js';
import { type Instance, startInstance } from '../../app/instance.js';
import { type Env, loggerFor } from '../../commands/command.js';
import { handleShutdown, watchTelegram } from '../../commands/lifecycle.js';
import type { AppEnv } from '../../config/environments.js';
import { type Config, createConfig } from '../../config/index.js';
import { generatePromoteKeys } from '../../config/promote-keys.js';
import { withDeadline } from '../../deadline.js';
import type { ExpectedFailures } from '../../doctor/audit.js';
import { type SettingsFallback, settingsFromConfig } from '../../doctor/facts.js';
import { createLogger, type Logger } from '../../logger.js';
import { type SandboxServices, startSandboxServices } from '../sandbox-services.js';
import { removeSandboxApps, sandboxDockerNames, startSandboxApps } from './demo-apps.js';
import { sandboxInstanceEnv } from './instance-env.js';
import { type SandboxPreviews, startSandboxPreviews } from './sandbox-previews.js';

/** No container stop grace applies, and the embedded databases flush on close: a loaded laptop gets 30 s. */
const SANDBOX_SHUTDOWN_DEADLINE_MS = 30_000;

interface DemoApps {
  /** Names this run's demo containers, so a sandbox never touches a real lugh container. */
  readonly id: string;
  readonly baseImage?: string;
  readonly embedded: Readonly<Record<AppEnv, boolean>>;
}

/**
 * `lugh sandbox`: the stand-ins, Postgres and Redis, both instances, and (with a Docker
 * engine) the demo app containers they deploy. Ctrl-C stops and removes all of it.
 */
export async function runSandbox(env: Env, port: number, dirOption?: string, repoDir?: string) {
  const dir = dirOption ?? mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-'));
  const removeDir = () => {
    if (!dirOption) rmSync(dir, { recursive: true, force: true });
  };
  const sandboxLog = createLogger({ level: 'info', secrets: [], base: { env: 'sandbox' } });
  const services = await startServices(env, port, dir, repoDir, removeDir);
  const instances: Instance[] = [];
  const dockerClient = new Docker();
  const demo: DemoApps = {
    id: randomBytes(3).toString('hex'),
    baseImage: env.LUGH_BASE_IMAGE || (await localBaseImage(dockerClient)),
    embedded: { staging: !env.STAGING_DATABASE_URL, production: !env.PROD_DATABASE_URL },
  };
  let demoApps: Promise<void> = Promise.resolve();
  let stopping = false;
  let previews: SandboxPreviews | undefined;
  const stopAll = async () => {
    stopping = true;
    for (const instance of instances.reverse()) await instance.stop().catch(() => {});
    if (services.docker.reachable) {
      // A build still under way would create its containers after the removal: wait for it.
      await withDeadline(demoApps, 20_000).catch(() => {});
      await removeSandboxApps(dockerClient, demo.id).catch(() => {});
    }
    await previews?.stop();
    await services.stop();
    removeDir();
  };
  const shutdown = handleShutdown(sandboxLog, stopAll, SANDBOX_SHUTDOWN_DEADLINE_MS);
  let configs: Record<AppEnv, Config>;
  try {
    previews = await startSandboxPreviews({
      docker: dockerClient,
      dockerReachable: services.docker.reachable,
      id: demo.id,
      dir,
      env,
    });
    configs = await startInstances(env, services, demo, previews, instances, shutdown);
  } catch (error) {
    process.stderr.write(`lugh sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
    await shutdown('start-up failed', 1);
    return;
  }
  printBanner(env, services, instances, demo, previews, dir);
  if (services.docker.reachable) {
    demoApps = buildDemoApps(configs.staging, sandboxLog, dockerClient, demo, () => stopping);
    await demoApps;
  }
}

async function startServices(
  env: Env,
  port: number,
  dir: string,
  repoDir: string | undefined,
  removeDir: () => void,
): Promise<SandboxServices> {
  try {
    return await startSandboxServices({
      dir,
      telegramPort: port,
      databaseUrls: { staging: env.STAGING_DATABASE_URL, production: env.PROD_DATABASE_URL },
      redisUrl: env.REDIS_URL,
      repoDir,
    });
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${port} is in use: pass another with --port P (0 picks a free one)`
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`lugh sandbox: ${message}\n`);
    removeDir();
    process.exit(1);
  }
}

async function startInstances(
  env: Env,
  services: SandboxServices,
  demo: DemoApps,
  previews: SandboxPreviews,
  instances: Instance[],
  shutdown: (reason: string, code: number) => Promise<void>,
): Promise<Record<AppEnv, Config>> {
  const logLevel = env.LOG_LEVEL ?? 'warn';
  // One fresh promotion key pair per sandbox: staging signs, production verifies.
  const keys = generatePromoteKeys();
  const notifyGroupId = openOpsGroup(services);
  const configs = {
    staging: createConfig(
      sandboxInstanceEnv(services, 'staging', logLevel, demo, keys, undefined, previews.env),
    ),
    production: createConfig(sandboxInstanceEnv(services, 'production', logLevel, demo, keys, notifyGroupId)),
  };
  // The sandbox runs its instances as processes: /doctor reads their settings from here.
  const doctorSettings: SettingsFallback = (appEnv) => ({
    settings: settingsFromConfig(configs[appEnv]),
    from: `the sandbox's ${appEnv} instance`,
  });
  const doctorExpected = sandboxExpectedFailures(demo.embedded);
  for (const appEnv of ['staging', 'production'] as const) {
    const config = configs[appEnv];
    const logger = loggerFor(config);
    const instance = await startInstance(config, logger, {
      doctorSettings,
      doctorExpected,
      // The run's names: its previews never meet a real lugh's on this Docker engine.
      previewNamespace: previews.namespace,
    });
    instances.push(instance);
    watchTelegram(instance, logger, shutdown);
  }
  return configs;
}

/** The sandbox's ops group: production's notify chat (NOTIFY_CHAT_ID). */
export const OPS_GROUP = { id: -1001001, type: 'group', title: 'lugh ops' } as const;

/**
 * Puts the production bot in the ops group as an admin would add it, before it starts: a
 * bot may write to a group once it is in it, though no admin opened a private chat with
 * it. Only the bot and the stand-in know the group; the admin's private chats stay unopened.
 */
function openOpsGroup(services: SandboxServices): number {
  services.telegram.sendText({
    token: services.bots.production.token,
    chat: OPS_GROUP,
    from: services.users.admin,
    text: `@${services.bots.production.username} reports here`,
  });
  return OPS_GROUP.id;
}

function printBanner(
  env: Env,
  services: SandboxServices,
  instances: Instance[],
  demo: DemoApps,
  previews: SandboxPreviews,
  dir: string,
) {
  const [staging, production] = instances;
  const { admin, stranger } = services.users;
  const embedded = !env.STAGING_DATABASE_URL || !env.PROD_DATABASE_URL;
  process.stdout.write(
    [
      '',
      'lugh sandbox is running: both bots, no tokens needed.',
      '',
      `  chat page    ${services.telegram.apiRoot}/`,
      `               you are ${admin.first_name} (id ${admin.id}), an admin; switch to ${stranger.first_name} (id ${stranger.id}) to see what a stranger gets`,
      `  staging      @${services.bots.staging.username}  health http://127.0.0.1:${staging?.port}/healthz`,
      `  production   @${services.bots.production.username}  health http://127.0.0.1:${production?.port}/healthz`,
      `  notify chat  production's is the group "${OPS_GROUP.title}" (id ${OPS_GROUP.id}): its button on the chat page, or ${services.telegram.apiRoot}/#bot=${services.bots.production.username}&user=admin&chat=${OPS_GROUP.id}`,
      `  GitHub       ${services.github.apiUrl} over ${services.repoDir} (develop is ahead of main: try /promote)`,
      `  Postgres     ${embedded ? `embedded (PGlite) in ${path.join(dir, 'postgres')}` : 'STAGING_DATABASE_URL / PROD_DATABASE_URL'}`,
      `  Redis        ${env.REDIS_URL ? 'REDIS_URL' : `redis-server at ${services.redisUrl} (started by the sandbox)`}`,
      `  Docker       ${services.docker.detail}${services.docker.reachable ? `; building the demo app containers ${sandboxDockerNames(demo.id).container('staging')} and …-prod-app` : ''}`,
      `  Previews     staging's: one per pull request into develop; open one with "Simulate a PR" on ${services.github.apiUrl}/_sandbox/`,
      ...previews.banner.map((line) => `               ${line}`),
      '',
      'Press Ctrl-C to stop everything the sandbox started.',
      '',
    ].join('\n'),
  );
}

/** Builds and starts the demo app containers (the seeded main); a failure leaves the rest working. */
async function buildDemoApps(
  config: Config,
  logger: Logger,
  docker: Docker,
  demo: DemoApps,
  cancelled: () => boolean,
): Promise<void> {
  const forge = forgeOf(config, logger)!;
  try {
    const started = await startSandboxApps({
      docker,
      forge,
      id: demo.id,
      mainSha: await forge.branchSha('main'),
      baseImage: demo.baseImage,
      logger,
      cancelled,
    });
    if (started)
      process.stdout.write(
        'Demo app containers are up: /deploy, /rollback and /promote deploy them (develop declares a set in lugh.yml: app ×2 and a worker).\n',
      );
  } catch (error) {
    if (cancelled()) return;
    process.stdout.write(
      `The demo app containers could not be built (${error instanceof Error ? error.message : String(error)}); deploys will say there is no container. Everything else works.\n`,
    );
  }
}

/** lugh-base:node20 when this host has it (made by deploy/make-base-image.sh), else the Dockerfile's default. */
async function localBaseImage(docker: Docker): Promise<string | undefined> {
  try {
    await withDeadline(docker.getImage('lugh-base:node20').inspect(), 2_000);
    return 'lugh-base:node20';
  } catch {
    return undefined;
  }
}

/**
 * The audit's failures the sandbox brings with it, and why: /doctor says they are expected
 * here, so a new user does not take them for a broken set-up (the server's own set-up passes).
 */
export function sandboxExpectedFailures(embedded: Readonly<Record<AppEnv, boolean>>): ExpectedFailures {
  const compose = 'the sandbox starts its demo app containers itself, not with docker-compose';
  return {
    ...(embedded.production
      ? { 'db-port': "production's database is embedded in the sandbox process (PGlite), not a container" }
      : {}),
    ...(embedded.staging && embedded.production
      ? { 'db-role': 'the embedded databases have one role, postgres, for both environments' }
      : {}),
    'identity-staging': compose,
    'identity-production': compose,
  };
}
