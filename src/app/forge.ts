import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import { createGitHubClient, type GitHubClientOptions } from '../forge/github/github-client.js';
import { createGitHubForge } from '../forge/github/github-forge.js';
import type { Logger } from '../logger.js';

/** How the GitHub client behaves, beyond the configuration: tests choose retries and deadlines. */
export type GitHubClientTuning = Pick<GitHubClientOptions, 'resilient' | 'timeoutMs' | 'retryBaseMs'>;

/** The repository's forge, or undefined when GITHUB_TOKEN or GITHUB_REPO is not set. */
export function forgeOf(config: Config, logger: Logger, tuning: GitHubClientTuning = {}): Forge | undefined {
  if (!config.github.token || !config.github.repo) return undefined;
  return createGitHubForge(
    createGitHubClient({ token: config.github.token, apiUrl: config.github.apiUrl, logger, ...tuning }),
    config.github.repo,
  );
}
