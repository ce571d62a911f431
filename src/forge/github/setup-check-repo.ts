// `lugh github check`'s findings about the repository's settings: main's branch protection
// and what each rule means for a promotion, and the webhook with its recent deliveries.
import type { SetupFinding } from '../setup-check.js';
import type { Answer } from './setup-check.js';

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

export type Ask = (route: string, params?: Record<string, unknown>) => Promise<Answer>;

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
export async function protectionFindings(ask: Ask, main: string, develop: string): Promise<SetupFinding[]> {
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
export async function webhookFindings(ask: Ask, webhookSecretSet: boolean): Promise<SetupFinding[]> {
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
