import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import { createGitHubClient } from '../forge/github/github-client.js';
import { createGitHubForge } from '../forge/github/github-forge.js';
import type { Logger } from '../logger.js';

/** The repository's forge, or undefined when GITHUB_TOKEN or GITHUB_REPO is not set. */
export function forgeOf(config: Config, logger: Logger, resilient?: boolean): Forge | undefined {
  if (!config.github.token || !config.github.repo) return undefined;
  return createGitHubForge(
    createGitHubClient({ token: config.github.token, apiUrl: config.github.apiUrl, logger, resilient }),
    config.github.repo,
  );
}
