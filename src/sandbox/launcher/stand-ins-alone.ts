import { existsSync } from 'node:fs';
import { EXIT_CONFIG } from '../../commands/command.js';
import { seedSandboxRepository, startGitHubStandIn } from '../github/index.js';
import { fakeBotToken, fakeGitHubToken } from '../sandbox-services.js';
import { startTelegramStandIn } from '../telegram/index.js';

/** `lugh sandbox github`: the GitHub REST API stand-in alone, over a repository (seeded when new). */
export async function runGitHubStandIn(port: number, repo: string | undefined) {
  if (!repo) {
    process.stderr.write(
      'lugh sandbox github: --repo DIR is required (a git repository; a new one is seeded if DIR does not exist)\n',
    );
    process.exit(EXIT_CONFIG);
  }
  const seeded = !existsSync(repo);
  if (seeded) await seedSandboxRepository(repo, { serviceSet: true });
  const token = fakeGitHubToken();
  const github = await startGitHubStandIn({ repoDir: repo, port, token });
  process.stdout.write(
    `GitHub REST API stand-in at ${github.apiUrl}\n` +
      `  GITHUB_API_URL=${github.apiUrl}\n` +
      `  GITHUB_REPO=${github.repo.owner}/${github.repo.name} (${seeded ? 'seeded now in' : 'served from'} ${repo})\n` +
      `  GITHUB_TOKEN=${token} (made up for this run)\nPress Ctrl-C to stop.\n`,
  );
  stopOnSignal(() => github.close());
}

/** `lugh sandbox telegram`: the Telegram Bot API stand-in alone, with one bot registered. */
export async function runTelegramStandIn(port: number) {
  const telegram = await startTelegramStandIn({ port });
  const token = fakeBotToken();
  telegram.registerBot({ token, username: 'LughDevBot', firstName: 'Lugh Dev' });
  process.stdout.write(
    `Telegram Bot API stand-in at ${telegram.apiRoot}\n` +
      `  TELEGRAM_API_ROOT=${telegram.apiRoot}\n` +
      `  a bot is registered: @LughDevBot with TELEGRAM_BOT_TOKEN=${token} (made up for this run)\n` +
      `  chat page: ${telegram.apiRoot}/\nPress Ctrl-C to stop.\n`,
  );
  stopOnSignal(() => telegram.close());
}

function stopOnSignal(close: () => Promise<void>) {
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
