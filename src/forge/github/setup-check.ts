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

export interface SetupCheckOptions {
  /** GITHUB_WEBHOOK_SECRET is set: lugh takes deliveries at /webhooks/github. */
  readonly webhookSecretSet: boolean;
  /** The branches lugh promotes from and to. */
  readonly develop?: string;
  readonly main?: string;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly data: unknown;
  /** GitHub's message on a refusal. */
  readonly message?: string;
}

/** The events lugh acts on: CI and pull requests wake a promotion, push and deployment deploy. */
export const WEBHOOK_EVENTS = [
  'push',
  'pull_request',
  'check_run',
  'check_suite',
  'status',
  'workflow_run',
  'deployment',
] as const;

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

type Ask = (route: string, params?: Record<string, unknown>) => Promise<Answer>;

interface Protection {
  required_status_checks?: {
    strict?: boolean;
    contexts?: string[];
    checks?: Array<{ context: string }>;
  } | null;
  required_pull_request_reviews?: {
    required_approving_review_count?: number;
    require_code_owner_reviews?: boolean;
  } | null;
}

/** main's branch protection, and what each rule means for a promotion. */
async function protectionFindings(ask: Ask, main: string, develop: string): Promise<SetupFinding[]> {
  const answer = await ask('GET /repos/{owner}/{repo}/branches/{branch}/protection', { branch: main });
  if (answer.status === 404 && /not protected/i.test(answer.message ?? '')) {
    return [
      {
        id: 'protection',
        title: `branch protection of ${main}`,
        level: 'ok',
        evidence: `${main} is not protected: GitHub merges whatever lugh asks (lugh still waits for CI). Requiring the CI checks on ${main} makes GitHub enforce them too.`,
      },
    ];
  }
  if (answer.status !== 200) {
    return [
      {
        id: 'protection',
        title: `branch protection of ${main}`,
        level: 'warn',
        evidence: `cannot read it: ${answer.status} ${answer.message ?? ''}`.trim(),
        fix: 'Give the token “Administration: read-only” so that lugh github check can see what GitHub will require of a promotion.',
      },
    ];
  }
  const p = answer.data as Protection;
  const findings: SetupFinding[] = [];
  const reviews = p.required_pull_request_reviews;
  const count = reviews?.required_approving_review_count ?? 0;
  findings.push(
    reviews && (count > 0 || reviews.require_code_owner_reviews)
      ? {
          id: 'protection-reviews',
          title: 'required reviews',
          level: 'warn',
          evidence: `${main} requires ${count} approving review(s)${reviews.require_code_owner_reviews ? ' and code owners’ review' : ''}: GitHub refuses lugh’s merge (blocked) until then; Yes in Telegram is not a review, and the token cannot approve the pull request it opened.`,
          fix: `Have someone approve each promotion's pull request on GitHub before saying Yes, or drop the review rule for ${main}.`,
        }
      : { id: 'protection-reviews', title: 'required reviews', level: 'ok', evidence: 'none required' },
  );
  const checks = p.required_status_checks;
  const required = [
    ...new Set([...(checks?.contexts ?? []), ...(checks?.checks ?? []).map((c) => c.context)]),
  ];
  findings.push(
    checks?.strict
      ? {
          id: 'protection-strict',
          title: 'branches must be up to date',
          level: 'warn',
          evidence: `${main} requires a pull request's branch to be up to date: after a promotion (a merge commit on ${main}) ${develop} is behind ${main}, and GitHub refuses the next merge (behind) until ${main} is merged into ${develop}.`,
          fix: `Merge ${main} into ${develop} after each promotion (then CI runs again), or turn off “Require branches to be up to date before merging” for ${main}.`,
        }
      : {
          id: 'protection-strict',
          title: 'branches must be up to date',
          level: 'ok',
          evidence: 'not required',
        },
  );
  if (required.length > 0) {
    const head = await ask('GET /repos/{owner}/{repo}/branches/{branch}', { branch: develop });
    const sha = (head.data as { commit?: { sha?: string } }).commit?.sha;
    const reported = new Set<string>();
    if (sha) {
      const runs = await ask('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
        ref: sha,
        per_page: 100,
      });
      for (const r of (runs.data as { check_runs?: Array<{ name: string }> }).check_runs ?? [])
        reported.add(r.name);
      const status = await ask('GET /repos/{owner}/{repo}/commits/{ref}/status', { ref: sha });
      for (const s of (status.data as { statuses?: Array<{ context: string }> }).statuses ?? [])
        reported.add(s.context);
    }
    const silent = required.filter((name) => !reported.has(name));
    findings.push(
      silent.length > 0 && sha
        ? {
            id: 'protection-checks',
            title: 'required checks',
            level: 'warn',
            evidence: `${main} requires ${required.join(', ')}; not reported on ${develop}'s head ${sha.slice(0, 7)}: ${silent.join(', ')}. A required check that never runs keeps every promotion blocked.`,
            fix: `Make CI report ${silent.join(', ')} on pull requests into ${main} (or remove them from ${main}'s required checks).`,
          }
        : {
            id: 'protection-checks',
            title: 'required checks',
            level: 'ok',
            evidence: `${main} requires ${required.join(', ')}, all reported on ${develop}'s head; lugh waits for every check anyway`,
          },
    );
  }
  return findings;
}

interface Hook {
  id: number;
  active: boolean;
  events: string[];
  config: { url?: string; content_type?: string; secret?: string };
}

/** A hook's URL without what may be a credential (user info, query). */
function shownUrl(url: string | undefined): string {
  if (!url) return '?';
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** What a delivery's status code says about the hook or lugh, and what to change. */
function deliveryCause(code: number): string {
  if (code === 401) return 'lugh refused the signature: the hook’s Secret must be GITHUB_WEBHOOK_SECRET';
  if (code === 400)
    return 'lugh could not read the delivery: set the hook’s Content type to application/json (older lugh refused form)';
  if (code === 404)
    return 'nothing answers at the Payload URL: it must end in /webhooks/github, and lugh needs GITHUB_WEBHOOK_SECRET set';
  if (code === 0) return 'GitHub could not connect: the Payload URL must be reachable from the internet';
  if (code >= 500) return 'lugh failed handling it: see its log';
  return `answered ${code}`;
}

/** The repository's webhook to lugh: there, active, signed, the right events, and delivering. */
async function webhookFindings(ask: Ask, webhookSecretSet: boolean): Promise<SetupFinding[]> {
  const id = 'webhook';
  const title = 'the repository webhook';
  const listed = await ask('GET /repos/{owner}/{repo}/hooks', { per_page: 100 });
  if (listed.status !== 200) {
    return [
      {
        id,
        title,
        level: 'warn',
        evidence: `cannot read the repository's webhooks: ${listed.status} ${listed.message ?? ''}`.trim(),
        fix: 'Give the token “Webhooks: read-only” so that lugh github check can see them.',
      },
    ];
  }
  const hooks = (listed.data as Hook[]).filter((h) =>
    shownUrl(h.config.url).replace(/\/+$/, '').endsWith('/webhooks/github'),
  );

  const howTo =
    'add a webhook in the repository’s Settings → Webhooks: Payload URL https://<lugh’s host>/webhooks/github, Content type application/json, Secret = GITHUB_WEBHOOK_SECRET, events: push, pull requests, check runs, check suites, statuses, workflow runs, deployments';
  if (hooks.length === 0) {
    return [
      webhookSecretSet
        ? {
            id,
            title,
            level: 'fail',
            evidence:
              'GITHUB_WEBHOOK_SECRET is set, but no webhook of the repository points at /webhooks/github',
            fix: howTo.replace(/^add/, 'Add'),
          }
        : {
            id,
            title,
            level: 'ok',
            evidence:
              'none, and GITHUB_WEBHOOK_SECRET is not set: lugh polls GitHub (webhooks make it react at once and deploy on push)',
          },
    ];
  }
  const findings: SetupFinding[] = [];
  for (const hook of hooks) {
    const where = shownUrl(hook.config.url);
    const problems: string[] = [];
    const fixes: string[] = [];
    if (!webhookSecretSet) {
      problems.push('GITHUB_WEBHOOK_SECRET is not set, so lugh does not take deliveries');
      fixes.push('set GITHUB_WEBHOOK_SECRET to the hook’s Secret');
    }
    if (!hook.active) {
      problems.push('the hook is inactive');
      fixes.push('tick Active');
    }
    if (!hook.config.secret) {
      problems.push('the hook has no secret, and lugh refuses unsigned deliveries');
      fixes.push('set the hook’s Secret to GITHUB_WEBHOOK_SECRET');
    }
    const missingEvents = hook.events.includes('*')
      ? []
      : WEBHOOK_EVENTS.filter((e) => !hook.events.includes(e));
    const deliveries = await ask('GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries', {
      hook_id: hook.id,
      per_page: 10,
    });
    const codes =
      deliveries.status === 200
        ? (deliveries.data as Array<{ status_code: number }>).map((d) => d.status_code)
        : [];
    const failing = codes.filter((c) => c < 200 || c >= 300);
    const newest = codes[0];
    if (newest !== undefined && (newest < 200 || newest >= 300)) {
      problems.push(`its last delivery failed (${newest}): ${deliveryCause(newest)}`);
      fixes.push(deliveryCause(newest).split(': ').slice(1).join(': ') || 'see lugh’s log');
    }
    const contentType =
      hook.config.content_type === 'json' ? 'JSON' : 'form (GitHub’s default; lugh accepts it)';
    const recent =
      deliveries.status === 200
        ? codes.length > 0
          ? `recent deliveries, newest first: ${codes.join(', ')}`
          : 'no delivery yet'
        : `its deliveries cannot be read (${deliveries.status})`;
    const evidence = `${where}: ${hook.active ? 'active' : 'inactive'}, content type ${contentType}, events ${hook.events.join(', ')}; ${recent}`;
    if (problems.length > 0) {
      findings.push({
        id,
        title,
        level: 'fail',
        evidence: `${evidence}. ${problems.join('; ')}`,
        fix: `${fixes.join('; ')}.`,
      });
    } else if (missingEvents.length > 0 || failing.length > 0) {
      findings.push({
        id,
        title,
        level: 'warn',
        evidence: `${evidence}${missingEvents.length ? `. Not subscribed to: ${missingEvents.join(', ')}` : ''}${failing.length ? `. Earlier deliveries failed: ${[...new Set(failing)].map((c) => `${c} (${deliveryCause(c)})`).join('; ')}` : ''}`,
        fix: missingEvents.length
          ? `Subscribe the hook to ${missingEvents.join(', ')} (or “Send me everything”).`
          : 'The newest delivery succeeded; nothing to change unless failures come back.',
      });
    } else {
      findings.push({ id, title, level: 'ok', evidence });
    }
  }
  return findings;
}
