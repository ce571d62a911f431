// lugh's own image, built from this repository by the deploy engine's image builder, running
// as a staging app container on a bridge network: what the self-deploy test and benchmark
// start from. The stand-ins listen on the network's gateway address, where both this
// process and the containers reach them; Postgres and Redis are relayed there.
import { statSync } from 'node:fs';
import type Docker from 'dockerode';
import { generatePromoteKeys } from '../../src/config/promote-keys.js';
import type { Forge } from '../../src/forge/forge.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import type { Message, TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { ensureBaseImage, removeTestResources, uniqueName } from './docker.js';
import { throughRelay } from './relay.js';
import { adminChat, startSelfDeploySources } from './self-deploy-sources.js';

export const SELF_TOKEN = '7004001:AASelfDeployStagingToken_abcdefghijk';
const GITHUB_TOKEN = 'ghs_selfDeployTestToken';

export interface LughInDocker {
  readonly name: string;
  readonly tg: TelegramStandIn;
  readonly gh: GitHubStandIn;
  readonly forge: Forge;
  readonly mainSha: string;
  readonly admin: { id: number; first_name: string; username: string };
  /** The Redis prefix the instance runs under (its published deploy lock is under it). */
  readonly redisPrefix: string;
  /** The environment it runs as. */
  readonly appEnv: 'staging' | 'production';
  /** LUGH_HOME inside the app container (and its runner: a volume both mount). */
  readonly home: string;
  /** Whether a bot message is deploy #id's final one (✅, ❌ or ↩️, under staging's marker on staging). */
  isFinal(id: number, text: string | undefined): boolean;
  /** Sends a command as the admin and waits for the next bot message in that chat. */
  ask(text: string, timeoutMs?: number): Promise<Message>;
  /** The final message of deploy #id (✅, ❌ or ↩️). */
  finalOf(id: number, timeoutMs: number): Promise<Message>;
  running(): Promise<Docker.ContainerInspectInfo>;
  close(): Promise<void>;
}

export async function startLughInDocker(
  docker: Docker,
  options: {
    databaseUrl: string;
    redisUrl: string;
    adminId: number;
    /** Variables set on the app container besides (or instead of) the usual ones, e.g. LUGH_FAILPOINTS. */
    env?: Readonly<Record<string, string>>;
    /**
     * Production: APP_ENV, its container name, Redis prefix and LUGH_HOME, the promotion
     * verify key, and LUGH_HOME on a volume (the runner takes the backup into it). The
     * database must be production's too (a name without "staging").
     */
    appEnv?: 'staging' | 'production';
  },
): Promise<LughInDocker> {
  const appEnv = options.appEnv ?? 'staging';
  const marker = appEnv === 'staging' ? 'staging' : 'prod';
  const run = uniqueName('lugh-test-self');
  const name = `${run}-${marker}-app`;
  // The image's /home/lugh (owned by lugh) is copied into the new volume, so lugh can write there.
  const home = `/home/lugh/.lugh-${marker}`;
  const homeVolume = appEnv === 'production' ? `${run}-home` : undefined;
  const admin = { id: options.adminId, first_name: 'Ada', username: 'ada' };
  const baseImage = await ensureBaseImage(docker);
  const network = await docker.createNetwork({ Name: run, Labels: { 'lugh.test': run } });
  const gateway = (await network.inspect()).IPAM?.Config?.[0]?.Gateway as string;
  const { tg, gh, forge, mainSha, pgRelay, redisRelay, relays, image } = await startSelfDeploySources(
    docker,
    {
      gateway,
      botToken: SELF_TOKEN,
      githubToken: GITHUB_TOKEN,
      databaseUrl: options.databaseUrl,
      redisUrl: options.redisUrl,
      repository: run,
      appEnv,
      baseImage,
      tmpPrefix: 'lugh-self-',
    },
  );
  const redisPrefix = `${marker}:${run.slice(-8)}`;
  const extraEnv = Object.entries(options.env ?? {});
  const overridden = new Set(extraEnv.map(([key]) => key));
  const container = await docker.createContainer({
    name,
    Image: image.tag,
    Env: [
      `APP_ENV=${appEnv}`,
      `TELEGRAM_BOT_TOKEN=${SELF_TOKEN}`,
      `TELEGRAM_API_ROOT=${tg.apiRoot}`,
      `DATABASE_URL=${throughRelay(options.databaseUrl, pgRelay)}`,
      `REDIS_URL=${throughRelay(options.redisUrl, redisRelay)}`,
      `REDIS_PREFIX=${redisPrefix}`,
      `LUGH_HOME=${homeVolume ? home : '/tmp/.lugh-staging'}`,
      ...(appEnv === 'production' ? [`PROMOTE_VERIFY_KEY=${generatePromoteKeys().verifyKey}`] : []),
      'PORT=3001',
      `ADMIN_IDS=${admin.id}`,
      `GITHUB_TOKEN=${GITHUB_TOKEN}`,
      `GITHUB_REPO=${gh.repo.owner}/${gh.repo.name}`,
      `GITHUB_API_URL=${gh.apiUrl}`,
      `DEPLOY_CONTAINER=${name}`,
      `DEPLOY_IMAGE_REPOSITORY=${run}`,
      `DEPLOY_BASE_IMAGE=${baseImage}`,
      'DEPLOY_HEALTH_SECONDS=150',
      'DEPLOY_VERIFY_SECONDS=5',
      'LOG_LEVEL=info',
    ]
      .filter((e) => !overridden.has(e.slice(0, e.indexOf('='))))
      .concat(extraEnv.map(([key, value]) => `${key}=${value}`)),
    Labels: { 'lugh.test': run },
    HostConfig: {
      Binds: [
        '/var/run/docker.sock:/var/run/docker.sock',
        ...(homeVolume ? [`${homeVolume}:/home/lugh`] : []),
      ],
      GroupAdd: [String(statSync('/var/run/docker.sock').gid)],
      NetworkMode: run,
      RestartPolicy: { Name: 'unless-stopped' },
      Init: true,
    },
  });
  await container.start();
  const isFinal = (id: number, text: string | undefined) =>
    new RegExp(`^${appEnv === 'staging' ? '🧪 STAGING · ' : ''}(✅|❌|↩️) Deploy #${id}\\b`).test(text ?? '');

  const { ask, finalOf } = adminChat(tg, SELF_TOKEN, admin, isFinal);
  return {
    name,
    tg,
    gh,
    forge,
    mainSha,
    admin,
    redisPrefix,
    appEnv,
    home: homeVolume ? home : '/tmp/.lugh-staging',
    isFinal,
    ask,
    finalOf,
    running: () => docker.getContainer(name).inspect(),
    async close() {
      for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } })) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      }
      await removeTestResources(docker, run);
      if (homeVolume)
        await docker
          .getVolume(homeVolume)
          .remove({ force: true })
          .catch(() => {});
      await network.remove().catch(() => {});
      for (const r of relays) await r.close();
      await gh.close();
      await tg.close();
    },
  };
}
