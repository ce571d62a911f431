// lugh's own image, built from this repository by the deploy engine's image builder, running
// as the staging app's Swarm service (DEPLOY_RUNTIME=swarm, DEPLOY_CONTAINER = the service):
// what the Swarm self-deploy tests and the bench's swarm section start from. One replica,
// updated start-first with failure_action rollback, a health check every second, the
// Docker socket mounted. The task sits on an overlay network of its own; it reaches this
// process through `docker_gwbridge`'s gateway, where the stand-ins listen and Postgres and
// Redis are relayed (every task on an overlay network has a leg on docker_gwbridge).
//
// The secrets (the bot token, the GitHub token, DATABASE_URL) are Docker secrets the task
// reads through `*_FILE` variables, as a stack's are: none is in the service's plain env.
import { statSync } from 'node:fs';
import type Docker from 'dockerode';
import type { Forge } from '../../src/forge/forge.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import type { Message, TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { STOP_GRACE_SECONDS } from '../../src/stop-grace.js';
import { ensureBaseImage, removeTestResources, uniqueName, waitFor } from './docker.js';
import { throughRelay } from './relay.js';
import { adminChat, startSelfDeploySources } from './self-deploy-sources.js';
import { ensureSwarm, removeSwarmResources, TEST_LABEL } from './swarm.js';

export const SWARM_SELF_TOKEN = '7004002:AASwarmSelfDeployToken_abcdefghijk';
const GITHUB_TOKEN = 'ghs_swarmSelfDeployTestToken';
const SECOND = 1_000_000_000;

/** The Swarm update and health settings of the test's service: short, so that a case takes seconds. */
export const TEST_SWARM_TIMING = {
  healthIntervalSeconds: 1,
  updateMonitorSeconds: 3,
} as const;

export interface SwarmTask {
  readonly id: string;
  readonly state: string;
  readonly desired: string;
  readonly image: string;
  readonly containerId?: string;
  readonly error?: string;
}

export interface LughInSwarm {
  /** The service's name, DEPLOY_CONTAINER. */
  readonly name: string;
  readonly run: string;
  readonly tg: TelegramStandIn;
  readonly gh: GitHubStandIn;
  readonly forge: Forge;
  readonly mainSha: string;
  readonly admin: { id: number; first_name: string; username: string };
  readonly redisPrefix: string;
  /** The routing mesh's published port of the app's HTTP server (/healthz), when asked for. */
  readonly publishedPort?: number;
  /** Whether a bot message is deploy #id's final one (✅, ❌ or ↩️, under staging's marker). */
  isFinal(id: number, text: string | undefined): boolean;
  /** Sends a command as the admin and waits for the next bot message in that chat. */
  ask(text: string, timeoutMs?: number): Promise<Message>;
  /** The final message of deploy #id (✅, ❌ or ↩️). */
  finalOf(id: number, timeoutMs: number): Promise<Message>;
  service(): Promise<Docker.Service>;
  /** The service's tasks, newest first. */
  tasks(): Promise<SwarmTask[]>;
  /** The tasks whose container runs. */
  runningTasks(): Promise<SwarmTask[]>;
  /** The commit the service's spec says it runs (GIT_SHA of its image). */
  specSha(): Promise<string | undefined>;
  /** SIGKILL to a task's container's process as the host sees it (as the OOM killer would). */
  killTask(task: SwarmTask): Promise<boolean>;
  close(): Promise<void>;
}

const nanos = (seconds: number) => Math.round(seconds * SECOND);

export async function startLughInSwarm(
  docker: Docker,
  options: {
    databaseUrl: string;
    redisUrl: string;
    adminId: number;
    /** Variables set on the service besides (or instead of) the usual ones, e.g. LUGH_FAILPOINTS. */
    env?: Readonly<Record<string, string>>;
    /** Publish the app's port on the routing mesh. */
    publish?: boolean;
    /** The health check's start period (60 s): a version that never gets healthy fails after it. */
    healthStartSeconds?: number;
  },
): Promise<LughInSwarm> {
  if (!(await ensureSwarm(docker))) throw new Error('the engine is a swarm worker, not a manager');
  const run = uniqueName('lugh-test-swarm');
  const name = `${run}-staging-app`;
  const admin = { id: options.adminId, first_name: 'Ada', username: 'ada' };
  const baseImage = await ensureBaseImage(docker);
  const labels = { [TEST_LABEL]: run };
  await docker.createNetwork({ Name: run, Driver: 'overlay', Attachable: true, Labels: labels });
  const gwbridge = await docker.getNetwork('docker_gwbridge').inspect();
  const gateway = gwbridge.IPAM?.Config?.[0]?.Gateway as string;
  if (!gateway) throw new Error('docker_gwbridge has no gateway: is the engine in a swarm?');
  const { tg, gh, forge, mainSha, pgRelay, redisRelay, relays, image } = await startSelfDeploySources(
    docker,
    {
      gateway,
      botToken: SWARM_SELF_TOKEN,
      githubToken: GITHUB_TOKEN,
      databaseUrl: options.databaseUrl,
      redisUrl: options.redisUrl,
      repository: run,
      appEnv: 'staging',
      baseImage,
      tmpPrefix: 'lugh-swarm-self-',
    },
  );
  const redisPrefix = `staging:${run.slice(-8)}`;
  const extraEnv = Object.entries(options.env ?? {});
  const overridden = new Set(extraEnv.map(([key]) => key));
  // Each secret a Docker secret of the run's, mounted at /run/secrets/<variable> for lugh's uid.
  const secrets: Record<string, string> = {
    TELEGRAM_BOT_TOKEN: SWARM_SELF_TOKEN,
    GITHUB_TOKEN,
    DATABASE_URL: throughRelay(options.databaseUrl, pgRelay),
  };
  const secretRefs = [];
  for (const [variable, value] of Object.entries(secrets)) {
    const name = `${run}-${variable.toLowerCase().replaceAll('_', '-')}`;
    const created = (await docker.createSecret({
      Name: name,
      Labels: labels,
      Data: Buffer.from(value).toString('base64'),
    })) as { id?: string; ID?: string };
    secretRefs.push({
      SecretID: created.id ?? created.ID ?? (await docker.getSecret(name).inspect()).ID,
      SecretName: name,
      File: { Name: variable, UID: '10001', GID: '10001', Mode: 0o400 },
    });
  }
  const env = [
    'APP_ENV=staging',
    ...Object.keys(secrets).map((variable) => `${variable}_FILE=/run/secrets/${variable}`),
    `TELEGRAM_API_ROOT=${tg.apiRoot}`,
    `REDIS_URL=${throughRelay(options.redisUrl, redisRelay)}`,
    `REDIS_PREFIX=${redisPrefix}`,
    'LUGH_HOME=/tmp/.lugh-staging',
    'PORT=3001',
    `ADMIN_IDS=${admin.id}`,
    `GITHUB_REPO=${gh.repo.owner}/${gh.repo.name}`,
    `GITHUB_API_URL=${gh.apiUrl}`,
    'DEPLOY_RUNTIME=swarm',
    `DEPLOY_CONTAINER=${name}`,
    `DEPLOY_IMAGE_REPOSITORY=${run}`,
    `DEPLOY_BASE_IMAGE=${baseImage}`,
    'DEPLOY_HEALTH_SECONDS=150',
    'DEPLOY_VERIFY_SECONDS=5',
    'LOG_LEVEL=info',
  ]
    .filter((e) => !overridden.has(e.slice(0, e.indexOf('='))))
    .concat(extraEnv.map(([key, value]) => `${key}=${value}`));

  const update = {
    Parallelism: 1,
    Delay: 0,
    Order: 'start-first',
    FailureAction: 'rollback',
    Monitor: nanos(TEST_SWARM_TIMING.updateMonitorSeconds),
    MaxFailureRatio: 0,
  };
  const spec = {
    Name: name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image.tag,
        Env: env,
        Labels: labels,
        Init: true,
        Groups: [String(statSync('/var/run/docker.sock').gid)],
        Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' }],
        Secrets: secretRefs,
        StopGracePeriod: nanos(STOP_GRACE_SECONDS),
        Healthcheck: {
          Test: ['CMD', 'node', 'dist/cli.js', 'healthcheck'],
          Interval: nanos(TEST_SWARM_TIMING.healthIntervalSeconds),
          Timeout: nanos(5),
          StartPeriod: nanos(options.healthStartSeconds ?? 60),
          Retries: 3,
        },
      },
      RestartPolicy: { Condition: 'any', Delay: nanos(1), MaxAttempts: 0 },
      Networks: [{ Target: run }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: 'pause' },
    EndpointSpec: options.publish
      ? { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 3001, PublishMode: 'ingress' }] }
      : undefined,
  };
  await docker.createService(spec as unknown as Docker.CreateServiceOptions);
  const service = () => Promise.resolve(docker.getService(name));
  const publishedPort = options.publish
    ? await waitFor(
        'the published port',
        async () => {
          const s = await docker.getService(name).inspect();
          return s.Endpoint?.Ports?.[0]?.PublishedPort as number | undefined;
        },
        30_000,
      )
    : undefined;

  const tasks = async (): Promise<SwarmTask[]> => {
    const list = (await docker.listTasks({
      filters: JSON.stringify({ service: [name] }),
    })) as Array<{
      ID: string;
      CreatedAt: string;
      DesiredState: string;
      Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
      Spec: { ContainerSpec: { Image: string } };
    }>;
    return list
      .sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt))
      .map((t) => ({
        id: t.ID,
        state: t.Status.State,
        desired: t.DesiredState,
        image: t.Spec.ContainerSpec.Image,
        containerId: t.Status.ContainerStatus?.ContainerID,
        error: t.Status.Err,
      }));
  };
  const runningTasks = async () => (await tasks()).filter((t) => t.state === 'running');
  await waitFor('the service to run a task', async () => (await runningTasks()).length === 1, 180_000);

  const isFinal = (id: number, text: string | undefined) =>
    new RegExp(`^🧪 STAGING · (✅|❌|↩️) Deploy #${id}\\b`).test(text ?? '');
  const { ask, finalOf } = adminChat(tg, SWARM_SELF_TOKEN, admin, isFinal);

  return {
    name,
    run,
    tg,
    gh,
    forge,
    mainSha,
    admin,
    redisPrefix,
    publishedPort,
    isFinal,
    ask,
    finalOf,
    service,
    tasks,
    runningTasks,
    async specSha() {
      const s = await docker.getService(name).inspect();
      const ref = s.Spec?.TaskTemplate?.ContainerSpec?.Image as string | undefined;
      if (!ref) return undefined;
      const info = await docker.getImage(ref.replace(/@sha256:[0-9a-f]+$/, '')).inspect();
      return info.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);
    },
    async killTask(task) {
      if (!task.containerId) return false;
      const info = await docker
        .getContainer(task.containerId)
        .inspect()
        .catch(() => undefined);
      if (!info?.State.Running || !info.State.Pid) return false;
      process.kill(info.State.Pid, 'SIGKILL');
      return true;
    },
    async close() {
      await removeSwarmResources(docker, run);
      await removeTestResources(docker, run);
      // A container of the run's on its network (the bench's /healthz poller) held it above.
      await docker
        .getNetwork(run)
        .remove()
        .catch(() => {});
      for (const r of relays) await r.close();
      await gh.close();
      await tg.close();
    },
  };
}
