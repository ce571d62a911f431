import { type Config, secretsSeen } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import { createGitHubClient, type GitHubClientOptions } from '../forge/github/github-client.js';
import { createGitHubForge } from '../forge/github/github-forge.js';
import type { Logger } from '../logger.js';
import { createRedactor, redactDeep } from '../redact.js';

/** How the GitHub client behaves, beyond the configuration: tests choose retries and deadlines. */
export type GitHubClientTuning = Pick<GitHubClientOptions, 'resilient' | 'timeoutMs' | 'retryBaseMs'>;

/**
 * The repository's forge, or undefined when GITHUB_TOKEN or GITHUB_REPO is not set. What
 * lugh sends it (a deployment status, a pull request's body, a payload) is redacted.
 */
export function forgeOf(
  config: Config,
  logger: Logger,
  tuning: GitHubClientTuning = {},
  redact: (text: string) => string = createRedactor(secretsSeen(config)),
): Forge | undefined {
  if (!config.github.token || !config.github.repo) return undefined;
  return redactingForge(
    createGitHubForge(
      createGitHubClient({ token: config.github.token, apiUrl: config.github.apiUrl, logger, ...tuning }),
      config.github.repo,
    ),
    redact,
  );
}

/**
 * Every string argument of every call (nested in objects too) passes the redactor before it
 * reaches the forge: an error text in a deployment status is the usual way a secret would
 * leave. A proxy rather than a wrapper per method, so a method added to `Forge` is covered.
 */
export function redactingForge(forge: Forge, redact: (text: string) => string): Forge {
  return new Proxy(forge, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        (value as (...a: unknown[]) => unknown).apply(
          target,
          args.map((a) => redactDeep(a, redact)),
        );
    },
  });
}
