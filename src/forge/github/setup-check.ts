// `lugh github check` and /doctor's GitHub part: with the configured token and repository,
// who the token is, every permission lugh needs (probed: GitHub shows no token's
// permissions), main's branch protection and what it means for promotions, and the
// repository's webhook with its recent deliveries. Nothing is changed on GitHub: each write
// probe is a request GitHub refuses as invalid (422) once the token is allowed to make it.
import { RequestError } from 'octokit';
import { ForgeUnavailableError } from '../errors.js';
import type { RepoRef } from '../forge.js';
import { type ForgeSetupReport, type SetupFinding, setupReport } from '../setup-check.js';
import { acceptedPermission, classifyGitHubError, githubMessage, permissionLabel } from './classify-error.js';
import type { GitHubClient } from './github-client.js';
import { protectionFindings, webhookFindings } from './setup-check-repo.js';

export { WEBHOOK_EVENTS } from './setup-check-repo.js';

export interface SetupCheckOptions {
  /** GITHUB_WEBHOOK_SECRET is set: lugh takes deliveries at /webhooks/github. */
  readonly webhookSecretSet: boolean;
  /** The branches lugh promotes from and to. */
  readonly develop?: string;
  readonly main?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly data: unknown;
  /** GitHub's message on a refusal. */
  readonly message?: string;
}

/** Each permission lugh needs, how it is probed, and what lugh does with it. */
const NEEDED = [
  {
    permission: 'contents',
    access: 'write',
    why: 'merge promotions, read commits and tags, tag releases, download sources',
    probe: {
      route: 'POST /repos/{owner}/{repo}/git/refs',
      body: { ref: 'lugh-github-check', sha: '0'.repeat(40) },
    },
  },
  {
    permission: 'pull_requests',
    access: 'write',
    why: 'open and update the develop → main pull request',
    probe: { route: 'POST /repos/{owner}/{repo}/pulls', body: {} },
  },
  {
    permission: 'deployments',
    access: 'write',
    why: 'hand production its deploy and report its progress',
    probe: { route: 'POST /repos/{owner}/{repo}/deployments', body: {} },
  },
  {
    permission: 'checks',
    access: 'read',
    why: 'follow CI (GitHub Actions reports check runs)',
    probe: { route: 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs', body: { per_page: 1 } },
  },
  {
    permission: 'statuses',
    access: 'read',
    why: 'follow CI that reports commit statuses',
    probe: { route: 'GET /repos/{owner}/{repo}/commits/{ref}/status', body: {} },
  },
] as const;

const accessText = (access: string) => (access === 'read' ? 'read-only' : 'read and write');

/**
 * Runs every check against GitHub and reports each finding; failures are what lugh needs
 * and lacks, warnings what works but will surprise (see README "What lugh needs on GitHub").
 */
export async function checkGitHubSetup(
  client: GitHubClient,
  repo: RepoRef,
  options: SetupCheckOptions,
): Promise<ForgeSetupReport> {
  const findings: SetupFinding[] = [];
  try {
    return await runChecks(client, repo, options, findings);
  } catch (error) {
    const unreachable = classifyGitHubError(error);
    if (!(unreachable instanceof ForgeUnavailableError)) throw error;
    findings.push({
      id: 'github',
      title: 'GitHub answers',
      level: 'fail',
      evidence: unreachable.message,
      fix: 'Check GITHUB_API_URL (https://api.github.com unless GitHub Enterprise) and that this host can reach it.',
    });
    return setupReport(`${repo.owner}/${repo.name}`, findings);
  }
}

async function runChecks(
  client: GitHubClient,
  repo: RepoRef,
  options: SetupCheckOptions,
  findings: SetupFinding[],
): Promise<ForgeSetupReport> {
  const { octokit } = client;
  const base = { owner: repo.owner, repo: repo.name };
  const fullName = `${repo.owner}/${repo.name}`;
  const main = options.main ?? 'main';
  const develop = options.develop ?? 'develop';
  const ask = async (route: string, params: Record<string, unknown> = {}): Promise<Answer> => {
    try {
      const response = await octokit.request(route, { ...base, ...params, request: { retries: 0 } });
      return { status: response.status, headers: response.headers, data: response.data };
    } catch (error) {
      if (!(error instanceof RequestError) || !error.response) throw error;
      return {
        status: error.status,
        headers: error.response.headers,
        data: error.response.data,
        message: githubMessage(error),
      };
    }
  };
  // Who the token is.
  const user = await ask('GET /user');
  const scopes =
    typeof user.headers['x-oauth-scopes'] === 'string' ? user.headers['x-oauth-scopes'] : undefined;
  const classic = scopes !== undefined;
  if (user.status === 401) {
    findings.push({
      id: 'token',
      title: 'the token',
      level: 'fail',
      evidence: `GitHub refused GITHUB_TOKEN: 401 ${user.message ?? 'Bad credentials'}`,
      fix: 'The token is wrong, expired or revoked: make a new one (see README, "What lugh needs on GitHub") and put it in GITHUB_TOKEN.',
    });
    return setupReport(fullName, findings);
  }
  if (user.status === 200) {
    const login = (user.data as { login?: string }).login ?? '?';
    findings.push({
      id: 'token',
      title: 'the token',
      level: 'ok',
      evidence: classic
        ? `a classic personal access token of ${login}, scopes: ${scopes || '(none)'}`
        : `a fine-grained personal access token of ${login}`,
    });
  } else {
    const installation = await ask('GET /installation/repositories', { per_page: 100 });
    const names = (
      (installation.data as { repositories?: Array<{ full_name: string }> }).repositories ?? []
    ).map((r) => r.full_name);
    const here = names.some((n) => n.toLowerCase() === fullName.toLowerCase());
    findings.push(
      installation.status === 200
        ? {
            id: 'token',
            title: 'the token',
            level: 'warn',
            evidence: `a GitHub App installation token, installed on ${here ? fullName : names.join(', ') || 'no repository'}`,
            fix: 'An installation token expires after an hour and lugh cannot renew it: use a fine-grained personal access token (or renew GITHUB_TOKEN before it expires).',
          }
        : {
            id: 'token',
            title: 'the token',
            level: 'warn',
            evidence:
              `GitHub does not say who the token is (GET /user: ${user.status} ${user.message ?? ''})`.trim(),
          },
    );
  }

  // The repository.
  const repository = await ask('GET /repos/{owner}/{repo}');
  if (repository.status !== 200) {
    findings.push({
      id: 'repository',
      title: `the repository ${fullName}`,
      level: 'fail',
      evidence: `GET /repos/${fullName} answered ${repository.status} ${repository.message ?? ''}`.trim(),
      fix: `Check GITHUB_REPO (owner/name), and give the token access to ${fullName} (a fine-grained token: "Repository access"; an App: install it on the repository).`,
    });
    return setupReport(fullName, findings);
  }
  const repoData = repository.data as { default_branch?: string; private?: boolean };
  findings.push({
    id: 'repository',
    title: `the repository ${fullName}`,
    level: 'ok',
    evidence: `visible to the token (${repoData.private ? 'private' : 'public'}, default branch ${repoData.default_branch ?? '?'})`,
  });

  // Each permission lugh needs, probed.
  const mainHead = await ask('GET /repos/{owner}/{repo}/branches/{branch}', { branch: main });
  const ref = (mainHead.data as { commit?: { sha?: string } }).commit?.sha ?? main;
  for (const need of NEEDED) {
    const label = permissionLabel(need.permission);
    // Reads ask about main's head; write probes carry only their own (invalid) body.
    const params = need.probe.route.startsWith('GET ') ? { ...need.probe.body, ref } : need.probe.body;
    const answer = await ask(need.probe.route, params);
    const missing = answer.status === 403 || answer.status === 404;
    const header = acceptedPermission(answer.headers['x-accepted-github-permissions']);
    findings.push({
      id: `permission-${need.permission}`,
      title: `${label}: ${accessText(need.access)}`,
      level: missing ? 'fail' : 'ok',
      evidence: missing
        ? `${need.probe.route.replace('{owner}/{repo}', fullName)} answered ${answer.status} ${answer.message ?? ''}${header ? ` (GitHub accepts ${header.permission}=${header.access})` : ''}; lugh needs it to ${need.why}`
        : `present (${need.probe.route.split(' ')[0]} probe answered ${answer.status}); used to ${need.why}`,
      ...(missing
        ? {
            fix: classic
              ? 'Give the classic token the repo scope (or use a fine-grained token).'
              : `Give GITHUB_TOKEN (or its GitHub App) “${label}: ${accessText(need.access)}” on ${fullName}.`,
          }
        : {}),
    });
  }
  findings.push(workflowsFinding(classic, scopes));

  findings.push(...(await protectionFindings(ask, main, develop)));
  findings.push(...(await webhookFindings(ask, options.webhookSecretSet)));
  return setupReport(fullName, findings);
}

/** Workflows: only a classic token's scopes say; GitHub shows an App's or fine-grained token's to no one. */
function workflowsFinding(classic: boolean, scopes: string | undefined): SetupFinding {
  const title = 'Workflows: read and write';
  const why = 'needed to merge a promotion that changes .github/workflows/';
  if (classic) {
    const has = (scopes ?? '').split(',').some((s) => s.trim() === 'workflow');
    return has
      ? { id: 'permission-workflows', title, level: 'ok', evidence: `the workflow scope is present; ${why}` }
      : {
          id: 'permission-workflows',
          title,
          level: 'fail',
          evidence: `the classic token has no workflow scope; ${why}`,
          fix: 'Add the workflow scope to the token.',
        };
  }
  return {
    id: 'permission-workflows',
    title,
    level: 'warn',
    evidence: `cannot be checked: GitHub shows no App's or fine-grained token's permissions, and probing it would need a merge; ${why}`,
    fix: 'Make sure the token (or its GitHub App) has “Workflows: read and write”.',
  };
}
