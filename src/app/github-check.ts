import { ENVIRONMENTS } from '../config/environments.js';
import type { Config } from '../config/index.js';
import type { ForgeSetupReport } from '../forge/setup-check.js';
import type { Logger } from '../logger.js';

export type { ForgeSetupReport, SetupFinding } from '../forge/setup-check.js';

/**
 * `lugh github check` and /doctor's GitHub part, with this instance's token and repository;
 * undefined when GITHUB_TOKEN or GITHUB_REPO is not set. Its own client: no retries, so
 * every answer is seen as GitHub gave it.
 */
export function githubCheckOf(config: Config, logger: Logger): (() => Promise<ForgeSetupReport>) | undefined {
  const { token, repo, apiUrl, webhookSecret } = config.github;
  if (!token || !repo) return undefined;
  // Octokit is imported by the first check (/doctor's GitHub part), not at start-up.
  return async () => {
    const [{ createGitHubClient }, { checkGitHubSetup }] = await Promise.all([
      import('../forge/github/github-client.js'),
      import('../forge/github/setup-check.js'),
    ]);
    return checkGitHubSetup(
      createGitHubClient({ token, apiUrl, logger, resilient: false, timeoutMs: 20_000 }),
      repo,
      {
        webhookSecretSet: webhookSecret !== undefined,
        develop: ENVIRONMENTS.staging.branch,
        main: ENVIRONMENTS.production.branch,
      },
    );
  };
}

/** The report as `lugh github check` prints it: one block per finding, then the counts. */
export function renderGitHubCheckText(report: ForgeSetupReport): string {
  const mark = { ok: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = [`lugh github check: ${report.repo}`, ''];
  for (const f of report.findings) {
    lines.push(`${mark[f.level]}  ${f.id.padEnd(24)} ${f.title}`);
    lines.push(`      ${f.evidence}`);
    if (f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const passed = report.findings.length - report.failed - report.warned;
  lines.push('', `${passed} passed, ${report.warned} warned, ${report.failed} failed`);
  return `${lines.join('\n')}\n`;
}
