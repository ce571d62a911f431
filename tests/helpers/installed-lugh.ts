// lugh installed the real way, on a private engine: a checkout of this repository (the
// working tree, committed in a temporary repository), `.local` files holding test values,
// deploy/bootstrap.sh run as an operator would, both bots talking to the Telegram stand-in
// and GitHub's stand-in serving the checkout. The image is built once on the shared engine
// (builds need the npm registry, which the private engine cannot reach) and loaded into
// the private one under the deployer's own tag, lugh:sha-<sha12>, so bootstrap reuses it.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type GitHubStandIn, startGitHubStandIn } from '../../src/sandbox/github/index.js';
import {
  type Message,
  startTelegramStandIn,
  type TelegramStandIn,
} from '../../src/sandbox/telegram/index.js';
import { createDockerClient, ensureBaseImage, REPO_ROOT, removeTestResources, uniqueName } from './docker.js';
import { PROMOTE_KEYS } from './instance-env.js';
import type { PrivateEngine } from './private-engine.js';

const execFileAsync = promisify(execFile);

export const STAGING_TOKEN = '7005001:AABootstrapStagingToken_abcdefghijkl';
export const PROD_TOKEN = '7005002:AABootstrapProdToken_abcdefghijklmnop';
const GITHUB_TOKEN = 'ghs_bootstrapTestToken';
export const ADMIN = { id: 4242, first_name: 'Ada', username: 'ada' };

export const APP_CONTAINERS = { staging: 'lugh-staging-app', prod: 'lugh-prod-app' } as const;
export const INFRA_CONTAINERS = ['lugh-postgres', 'lugh-redis'] as const;

export interface InstallOptions {
  /** Lines added to the committed .env.staging / .env.prod of the checkout. */
  readonly settings?: Partial<Record<'staging' | 'prod', Record<string, string>>>;
}

export interface InstalledLugh {
  readonly checkout: string;
  readonly sha: string;
  readonly tg: TelegramStandIn;
  readonly gh: GitHubStandIn;
  /** http://<address>:<port> of each app's published port. */
  readonly http: { staging: string; prod: string };
  /** Runs deploy/bootstrap.sh in the checkout against the private engine; its output. */
  bootstrap(): Promise<string>;
  /** `docker-compose up -d` of one project, the way bootstrap.sh calls it. */
  composeUp(project: 'infra' | 'staging' | 'prod'): Promise<string>;
  /** Sends a command to a bot as the admin and waits for that bot's next message. */
  ask(env: 'staging' | 'prod', text: string, timeoutMs?: number): Promise<Message>;
  /**
   * lugh:sha-<sha12> for a commit that differs from the installed one only outside the
   * image's build context: the installed image with that GIT_SHA, made without network,
   * so a deploy of the commit reuses it as it would an image it built.
   */
  imageFor(sha: string): Promise<void>;
  /** One psql query as the superuser in an environment's database; rows as text. */
  sql(env: 'staging' | 'prod', query: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Commits the working tree (tracked and untracked, not ignored) into a new repository,
 * with `settings` appended to the committed env files (as an operator's own settings).
 */
function checkoutOfWorkingTree(dir: string, settings: InstallOptions['settings']): string {
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      'git -C "$0" ls-files -z -co --exclude-standard | tar -C "$0" --null --ignore-failed-read -T - -cf - | tar -C "$1" -xf -',
      REPO_ROOT,
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'lugh test',
        GIT_AUTHOR_EMAIL: 'test@lugh.invalid',
        GIT_COMMITTER_NAME: 'lugh test',
        GIT_COMMITTER_EMAIL: 'test@lugh.invalid',
      },
    }).trim();
  for (const [env, values] of Object.entries(settings ?? {}))
    appendFileSync(
      path.join(dir, `.env.${env}`),
      `\n# The bootstrap test's own settings.\n${Object.entries(values ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
    );
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'lugh as installed by the bootstrap test');
  return git('rev-parse', 'HEAD');
}

/** Builds the checkout's image on the shared engine and loads it here as lugh:sha-<sha12>. */
async function loadLughImage(engine: PrivateEngine, checkout: string, sha: string): Promise<void> {
  const shared = createDockerClient();
  const base = await ensureBaseImage(shared);
  const run = uniqueName('lugh-test-bootstrap');
  try {
    await execFileAsync(
      'docker',
      [
        'build',
        '-q',
        '--build-arg',
        `BASE_IMAGE=${base}`,
        '--build-arg',
        `GIT_SHA=${sha}`,
        '--label',
        `lugh.sha=${sha}`,
        '--label',
        `lugh.test=${run}`,
        '-t',
        `${run}:image`,
        checkout,
      ],
      { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
    );
    await engine.loadImage(`${run}:image`);
    await engine.docker.getImage(`${run}:image`).tag({ repo: 'lugh', tag: `sha-${sha.slice(0, 12)}` });
    await engine.docker.getImage(`${run}:image`).remove({ noprune: true });
  } finally {
    await removeTestResources(shared, run);
  }
}

export async function installLugh(
  engine: PrivateEngine,
  options: InstallOptions = {},
): Promise<InstalledLugh> {
  const workdir = mkdtempSync('/tmp/lugh-bootstrap-');
  const checkout = path.join(workdir, 'lugh');
  const sha = checkoutOfWorkingTree(checkout, options.settings);

  const tg = await startTelegramStandIn({ host: engine.address });
  tg.registerBot({ token: STAGING_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
  tg.registerBot({ token: PROD_TOKEN, username: 'LughBot', firstName: 'Lugh' });
  const repoDir = path.join(workdir, 'repo.git');
  execFileSync('git', ['clone', '--quiet', '--bare', checkout, repoDir]);
  execFileSync('git', ['-C', repoDir, 'branch', '-f', 'develop', sha]);
  const gh = await startGitHubStandIn({ repoDir, token: GITHUB_TOKEN, host: engine.address });

  const secret = () => randomBytes(9).toString('hex');
  const passwords = { postgres: secret(), staging: secret(), prod: secret() };
  const local = (name: string, values: Record<string, string>) =>
    writeFileSync(
      path.join(checkout, `.env.${name}.local`),
      `${Object.entries(values)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
    );
  local('infra', {
    POSTGRES_PASSWORD: passwords.postgres,
    STAGING_DB_PASSWORD: passwords.staging,
    PROD_DB_PASSWORD: passwords.prod,
    POSTGRES_IMAGE: 'lugh-postgres:15-local',
    REDIS_IMAGE: 'lugh-redis:7-local',
  });
  const app = (env: 'staging' | 'prod', token: string, password: string) => ({
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: tg.apiRoot,
    ADMIN_IDS: String(ADMIN.id),
    DATABASE_URL: `postgres://lugh_${env}:${password}@lugh-postgres:5432/${env}_lugh`,
    GITHUB_TOKEN,
    GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
    GITHUB_API_URL: gh.apiUrl,
    LUGH_HOME: path.join(workdir, `home-${env}`),
    // One directory for both, as the env files' /home/lugh/lugh-refresh is on a real host.
    REFRESH_DIR: path.join(workdir, 'lugh-refresh'),
    // Published in the private engine's namespace only: nothing else binds there.
    HTTP_BIND_ADDRESS: engine.publishAddress,
  });
  local('staging', {
    ...app('staging', STAGING_TOKEN, passwords.staging),
    PROMOTE_SIGNING_KEY: PROMOTE_KEYS.signingKey,
  });
  local('prod', { ...app('prod', PROD_TOKEN, passwords.prod), PROMOTE_VERIFY_KEY: PROMOTE_KEYS.verifyKey });

  try {
    await execFileAsync('bash', ['deploy/make-infra-images.sh'], {
      cwd: checkout,
      env: engine.env,
      timeout: 300_000,
    });
    await loadLughImage(engine, checkout, sha);
  } catch (error) {
    // The caller gets no handle to close: leave nothing behind.
    await gh.close();
    await tg.close();
    rmSync(workdir, { recursive: true, force: true });
    throw error;
  }

  const run = async (command: string, args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(command, args, {
        cwd: checkout,
        env: {
          ...engine.env,
          BASE_IMAGE: 'lugh-base:node20',
          // The private engine's own config file and pid, not the shared engine's.
          DOCKER_DAEMON_JSON: engine.daemonJson,
          DOCKERD_PIDFILE: engine.pidfile,
        },
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      return `${stdout}${stderr}`;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`${command} ${args.join(' ')} failed: ${String(error)}\n${stdout}\n${stderr}`);
    }
  };

  const ask = async (env: 'staging' | 'prod', text: string, timeoutMs = 30_000) => {
    const token = env === 'staging' ? STAGING_TOKEN : PROD_TOKEN;
    const sent = tg.sendText({ token, chat: { id: ADMIN.id, type: 'private' }, from: ADMIN, text });
    return tg.waitForBotMessage(token, ADMIN.id, (m) => m.message_id > sent.message_id, { timeoutMs });
  };

  return {
    checkout,
    sha,
    tg,
    gh,
    http: { staging: `http://${engine.publishAddress}:3001`, prod: `http://${engine.publishAddress}:3000` },
    bootstrap: () => run('bash', ['deploy/bootstrap.sh']),
    composeUp: (project) =>
      run('bash', [
        '-c',
        // As bootstrap.sh's compose(): the env's files sourced, its project name and file.
        'set -a; . "./.env.$0"; . "./.env.$0.local"; set +a; docker-compose -p "$COMPOSE_PROJECT_NAME" --env-file ".env.$0" -f "docker-compose.$0.yml" up -d',
        project,
      ]),
    ask,
    async imageFor(next) {
      const dockerfile = `FROM lugh:sha-${sha.slice(0, 12)}\nENV GIT_SHA=${next}\nLABEL lugh.sha=${next}\n`;
      await new Promise<void>((resolve, reject) => {
        const child = execFile(
          'docker',
          ['build', '-q', '-t', `lugh:sha-${next.slice(0, 12)}`, '-'],
          { env: engine.env },
          (error) => (error ? reject(error) : resolve()),
        );
        child.stdin?.end(dockerfile);
      });
    },
    async sql(env, query) {
      const { stdout } = await execFileAsync(
        'docker',
        ['exec', '-u', 'postgres', 'lugh-postgres', 'psql', '-d', `${env}_lugh`, '-Atc', query],
        { env: engine.env },
      );
      return stdout.trim();
    },
    async close() {
      await gh.close();
      await tg.close();
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}
