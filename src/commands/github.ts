import { githubCheckOf, renderGitHubCheckText } from '../app/github-check.js';
import { type CliCommand, loggerFor, readConfig, usageError } from './command.js';

/**
 * `lugh github check`: what lugh needs on GitHub, checked with the configured token and
 * repository (README, "What lugh needs on GitHub"). Exits 1 when something lugh needs is
 * missing; warnings alone exit 0.
 */
export const githubCommand: CliCommand = {
  name: 'github',
  usage: `github check the token (who it is, every permission lugh needs), main's branch
               protection and what it means for promotions, and the repository webhook
               (content type, secret, events, recent deliveries); says what to change;
               exits 1 when something lugh needs is missing`,
  async run({ args, env }) {
    if (args[0] !== 'check' || args.length > 1) usageError('usage: lugh github check');
    const config = readConfig(env);
    const check = githubCheckOf(config, loggerFor(config));
    if (!check) usageError('lugh github check: set GITHUB_TOKEN and GITHUB_REPO first');
    const report = await check();
    process.stdout.write(renderGitHubCheckText(report));
    process.exit(report.failed > 0 ? 1 : 0);
  },
};
