import { type Config, secretsSeen } from '../config/index.js';
import type { Forge, RepoRef } from '../forge/forge.js';
import type { GitHubClientOptions } from '../forge/github/github-client.js';
import type { Logger } from '../logger.js';
import { createRedactor, redactDeep } from '../redact.js';

/** How the GitHub client behaves, beyond the configuration: tests choose retries and deadlines. */
export type GitHubClientTuning = Pick<
  GitHubClientOptions,
  'resilient' | 'timeoutMs' | 'retryBaseMs' | 'metrics'
>;

/**
 * The repository's forge, or undefined when GITHUB_TOKEN or GITHUB_REPO is not set. What
 * lugh sends it (a deployment status, a pull request's body, a payload) is redacted. The
 * GitHub client (Octokit) is imported by the first call, not at start-up.
 */
export function forgeOf(
  config: Config,
  logger: Logger,
  tuning: GitHubClientTuning = {},
  redact: (text: string) => string = createRedactor(secretsSeen(config)),
): Forge | undefined {
  const { token, repo, apiUrl } = config.github;
  if (!token || !repo) return undefined;
  let loaded: Promise<Forge> | undefined;
  const load = () => {
    loaded ??= Promise.all([
      import('../forge/github/github-client.js'),
      import('../forge/github/github-forge.js'),
    ]).then(([client, forge]) =>
      forge.createGitHubForge(client.createGitHubClient({ token, apiUrl, logger, ...tuning }), repo),
    );
    return loaded;
  };
  return redactingForge(lazyForge(repo, load), redact);
}

/**
 * A forge whose methods (every one returns a promise) wait for `load` and call the loaded
 * forge's; `repo` is known at once. Not a thenable, so awaiting it gives it back as it is.
 */
function lazyForge(repo: RepoRef, load: () => Promise<Forge>): Forge {
  return new Proxy({ repo } as Forge, {
    get(target, key) {
      if (typeof key !== 'string' || key === 'then') return undefined;
      if (key === 'repo') return target.repo;
      return async (...args: unknown[]) => {
        const forge = await load();
        return (forge[key as keyof Forge] as (...a: unknown[]) => unknown).apply(forge, args);
      };
    },
  });
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
