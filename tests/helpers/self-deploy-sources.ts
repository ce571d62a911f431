// What lugh running itself in Docker (lugh-in-docker.ts) and in Swarm (lugh-in-swarm.ts)
// both start from: this repository as committed, served by the GitHub stand-in (main and
// develop both at HEAD), the Telegram stand-in with the bot registered, Postgres and Redis
// relayed to `gateway` (where the app's containers reach this process), and lugh's image
// built by the deploy engine's image builder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import { createGitHubClient } from '../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../src/forge/github/github-forge.js';
import { startGitHubStandIn } from '../../src/sandbox/github/index.js';
import {
  type Message,
  startTelegramStandIn,
  type TelegramStandIn,
} from '../../src/sandbox/telegram/index.js';
import { REPO_ROOT } from './docker.js';
import { silentLogger as logger } from './logger.js';
import { type Relay, startRelay } from './relay.js';

export async function startSelfDeploySources(
  docker: Docker,
  options: {
    readonly gateway: string;
    readonly botToken: string;
    readonly githubToken: string;
    readonly databaseUrl: string;
    readonly redisUrl: string;
    /** The image's repository (the run's name) and the environment its tag is for. */
    readonly repository: string;
    readonly appEnv: 'staging' | 'production';
    readonly baseImage: string;
    /** The temporary directory's prefix the bare clone goes under. */
    readonly tmpPrefix: string;
  },
) {
  const { gateway, githubToken } = options;
  const relays: Relay[] = [];
  const tg = await startTelegramStandIn({ host: gateway });
  tg.registerBot({ token: options.botToken, username: 'LughDevBot', firstName: 'Lugh Dev' });

  const repoDir = path.join(mkdtempSync(path.join(tmpdir(), options.tmpPrefix)), 'repo.git');
  execFileSync('git', ['clone', '--quiet', '--bare', '--no-local', REPO_ROOT, repoDir]);
  const mainSha = execFileSync('git', ['-C', repoDir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  for (const branch of ['main', 'develop'])
    execFileSync('git', ['-C', repoDir, 'branch', '-f', branch, mainSha]);
  execFileSync('git', ['-C', repoDir, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
  const gh = await startGitHubStandIn({ repoDir, token: githubToken, host: gateway });
  const forge = createGitHubForge(
    createGitHubClient({ token: githubToken, apiUrl: gh.apiUrl, logger, resilient: false }),
    gh.repo,
  );
  const pgRelay = await startRelay(gateway, Number(new URL(options.databaseUrl).port));
  const redisRelay = await startRelay(gateway, Number(new URL(options.redisUrl).port));
  relays.push(pgRelay, redisRelay);

  const image = await createImageBuilder({ docker, logger, repository: options.repository }).ensure({
    env: options.appEnv,
    sha: mainSha,
    tarball: () => forge.tarball(mainSha),
    buildArgs: { BASE_IMAGE: options.baseImage },
  });
  return { tg, gh, forge, mainSha, pgRelay, redisRelay, relays, image };
}

/** The admin's side of the chat with the bot: a command and the answer after it, a deploy's final message. */
export function adminChat(
  tg: TelegramStandIn,
  token: string,
  admin: { id: number; first_name: string; username: string },
  isFinal: (id: number, text: string | undefined) => boolean,
) {
  return {
    /** Sends a command as the admin and waits for the next bot message in that chat. */
    ask: async (text: string, timeoutMs = 30_000): Promise<Message> => {
      const sent = tg.sendText({ token, chat: { id: admin.id, type: 'private' }, from: admin, text });
      return tg.waitForBotMessage(token, admin.id, (m) => m.message_id > sent.message_id, { timeoutMs });
    },
    /** The final message of deploy #id (✅, ❌ or ↩️). */
    finalOf: (id: number, timeoutMs: number): Promise<Message> =>
      tg.waitForBotMessage(token, admin.id, (m) => isFinal(id, m.text), { timeoutMs }),
  };
}
