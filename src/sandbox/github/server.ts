import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { StandInCore } from './core.js';
import { GitHubApiError, notFound } from './errors.js';
import type { FaultRegistry, FaultSpec } from './faults.js';
import { answerGraphql } from './graphql.js';
import { servePage } from './page/page-server.js';
import {
  acceptedHeader,
  effectivePermissions,
  holds,
  notAccessible,
  requirementOf,
  type TokenGrant,
  workflowRefusal,
} from './permissions.js';
import type { RateLimiter } from './rate-limit.js';
import type { RouteReply } from './route-types.js';
import { type Router, routeKey } from './router.js';
import { type ArchiveTokens, archivePath, archivePrefix } from './routes/repository-routes.js';

export interface RequestLogEntry {
  readonly method: string;
  /** "METHOD /template" of the route served, null when no route matched. */
  readonly route: string | null;
  readonly path: string;
  /** The status answered; 0 for an injected hang that never answered. */
  readonly status: number;
  /** The stand-in's clock when the request arrived. */
  readonly at: number;
  /** The request carried If-None-Match. */
  readonly conditional: boolean;
  /**
   * It cost a point of the rate limit: every request does but a 304 to a conditional one,
   * GET /rate_limit, and one refused for its credentials (GitHub's rule).
   */
  readonly charged: boolean;
}

export interface ServerParts {
  readonly core: StandInCore;
  readonly router: Router;
  readonly faults: FaultRegistry;
  readonly limiter: RateLimiter;
  readonly token: string;
  /** The token's kind and permissions now (tests change them while the stand-in runs). */
  readonly grant: () => TokenGrant;
  readonly archives: ArchiveTokens;
  readonly log: RequestLogEntry[];
}

const MAX_BODY = 5 * 1024 * 1024;
const DOCS_RATE = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api';

function requestId(): string {
  const hex = (n: number) => randomBytes(n).toString('hex').toUpperCase();
  return `${hex(2)}:${hex(2)}:${hex(3)}:${hex(3)}:${hex(4)}`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new GitHubApiError(413, 'Payload too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GitHubApiError(400, 'Problems parsing JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GitHubApiError(400, 'Problems parsing JSON');
  }
  return parsed as Record<string, unknown>;
}

function etagOf(body: string): string {
  return `W/"${createHash('sha256').update(body).digest('hex').slice(0, 40)}"`;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

function faultReply(fault: FaultSpec, limiter: RateLimiter, id: string): RouteReply {
  if (fault.kind === '5xx') return { status: fault.status ?? 502, body: { message: 'Server Error' } };
  if (fault.kind === 'primary-rate-limit') {
    const state = limiter.state();
    return {
      status: 403,
      body: {
        message: 'API rate limit exceeded for installation ID 1.',
        documentation_url: `${DOCS_RATE}#about-primary-rate-limits`,
        status: '403',
      },
      headers: limiter.headers({ remaining: 0, used: state.limit }),
    };
  }
  return {
    status: fault.status ?? 403,
    body: {
      message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${id}.`,
      documentation_url: `${DOCS_RATE}#about-secondary-rate-limits`,
      status: String(fault.status ?? 403),
    },
    headers: fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
  };
}

/**
 * The HTTP face of the GitHub stand-in: token auth, rate-limit headers and accounting,
 * ETags and free 304s, injected faults, the request log, then the matching route.
 */
export function createGitHubServer(parts: ServerParts): Server {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    handle(parts, req, res, held).catch((error: unknown) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ message: error instanceof Error ? error.message : 'Server Error' });
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(body);
      } else res.destroy();
    });
  });
  // Injected hangs never answer; closing the stand-in must still end them.
  server.on('close', () => {
    for (const res of held) res.destroy();
  });
  return server;
}

async function handle(
  parts: ServerParts,
  req: IncomingMessage,
  res: ServerResponse,
  held: Set<ServerResponse>,
): Promise<void> {
  const { core, router, faults, limiter, log } = parts;
  const at = core.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', core.site.apiUrl);
  // The stand-in's own page (simulate a pull request), outside GitHub's API and its log.
  if (await servePage(core, req, res, url)) return;
  const id = requestId();
  const conditional = req.headers['if-none-match'] !== undefined;
  const base: Record<string, string> = {
    'x-github-request-id': id,
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
    'access-control-expose-headers':
      'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset',
    'access-control-allow-origin': '*',
  };
  let charged = false;
  const charge = () => {
    limiter.charge();
    charged = true;
  };
  const finish = (route: string | null, status: number) => {
    log.push({ method, route, path: url.pathname + url.search, status, at, conditional, charged });
  };

  const archive = /\/([0-9a-f]{40})$/.exec(url.pathname);
  if (
    method === 'GET' &&
    archive &&
    url.pathname === archivePath(core.site.owner, core.site.name, archive[1]!)
  ) {
    // codeload.github.com: the archive itself, authorised by the token in the redirect, not a header.
    const sha = archive[1]!;
    if (!parts.archives.redeem(url.searchParams.get('token') ?? '', sha)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404: Not Found');
      finish(null, 404);
      return;
    }
    const prefix = archivePrefix(core, sha);
    res.writeHead(200, {
      'content-type': 'application/x-gzip',
      'content-disposition': `attachment; filename=${prefix}.tar.gz`,
      etag: `"${sha}"`,
    });
    core.repo.archive(sha, prefix).pipe(res);
    finish(null, 200);
    return;
  }

  const send = (route: string | null, reply: RouteReply, extra: Record<string, string>) => {
    const headers: Record<string, string> = { ...base, ...extra, ...reply.headers };
    if (reply.raw) {
      res.writeHead(reply.status, {
        ...headers,
        'content-type': reply.raw.contentType,
        'content-length': String(reply.raw.bytes.length),
      });
      res.end(reply.raw.bytes);
    } else if (reply.body === undefined) {
      res.writeHead(reply.status, { ...headers, 'content-length': '0' });
      res.end();
    } else {
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
      });
      res.end(text);
    }
    finish(route, reply.status);
  };
  const fail = (route: string | null, error: GitHubApiError, chargeIt: boolean) => {
    if (chargeIt) charge();
    send(route, { status: error.status, body: error.toBody(), headers: error.headers }, limiter.headers());
  };

  const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!auth) {
    const message =
      url.pathname === '/graphql'
        ? 'This endpoint requires you to be authenticated.'
        : 'Requires authentication';
    fail(null, new GitHubApiError(401, message), false);
    return;
  }
  if (auth[1] !== parts.token) {
    fail(null, new GitHubApiError(401, 'Bad credentials'), false);
    return;
  }

  if (url.pathname === '/graphql') {
    if (method !== 'POST') {
      fail(null, notFound(), true);
      return;
    }
    // GraphQL has its own budget on GitHub (points per query); a query like lugh's costs 1.
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (error) {
      if (!(error instanceof GitHubApiError)) throw error;
      fail('POST /graphql', error, true);
      return;
    }
    charge();
    send('POST /graphql', { status: 200, body: await answerGraphql(core, body) }, limiter.headers());
    return;
  }

  const matched = router.match(method, url.pathname);
  const owner = matched?.params.owner;
  const repo = matched?.params.repo;
  if (
    !matched ||
    (owner !== undefined && owner.toLowerCase() !== core.site.owner.toLowerCase()) ||
    (repo !== undefined && repo.toLowerCase() !== core.site.name.toLowerCase())
  ) {
    fail(matched ? routeKey(matched.route) : null, notFound(), true);
    return;
  }
  const key = routeKey(matched.route);
  const free = key === 'GET /rate_limit';
  // Like GitHub for an App or a fine-grained token: every answer names the permission the
  // route needs, and a token without it gets 403 "Resource not accessible by integration".
  // A classic token instead gets its scopes in X-OAuth-Scopes on every answer.
  const grant = parts.grant();
  if (grant.kind === 'classic') base['x-oauth-scopes'] = (grant.scopes ?? ['repo', 'workflow']).join(', ');
  const need = requirementOf(method, matched.route.path);
  if (need) {
    if (grant.kind === 'classic') base['x-accepted-oauth-scopes'] = 'repo';
    else base['x-accepted-github-permissions'] = acceptedHeader(need);
    const allowed = holds(effectivePermissions(grant), need);
    const refusal = !allowed
      ? notAccessible(need, grant.kind)
      : key === 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge'
        ? await workflowRefusal(core, grant, Number(matched.params.pull_number))
        : undefined;
    if (refusal) {
      fail(key, refusal, true);
      return;
    }
  }
  const perform = async (): Promise<RouteReply> => {
    const body = method === 'GET' ? {} : await readJson(req);
    return matched.route.handle(core, {
      params: matched.params,
      query: url.searchParams,
      url: url.toString(),
      body,
      accept: req.headers.accept,
    });
  };

  const olderAnswer = () => matched.route.stale?.(core, matched.params);
  const taken = faults.take(key, (spec) => spec.kind !== 'stale' || olderAnswer() !== undefined);
  // A stale read is answered like any read (rate limit, ETag), only with the older state.
  const stale = taken?.kind === 'stale' ? olderAnswer() : undefined;
  const fault = taken?.kind === 'stale' ? undefined : taken;
  if (fault?.performed) {
    // The work is done and kept; only its answer is lost.
    if (!free) charge();
    await perform().catch((error: unknown) => {
      if (!(error instanceof GitHubApiError)) throw error;
    });
  }
  if (fault?.kind === 'hang') {
    held.add(res);
    res.on('close', () => held.delete(res));
    finish(key, 0);
    return;
  }
  if (fault) {
    const reply = faultReply(fault, limiter, id);
    send(key, reply, limiter.headers());
    return;
  }
  if (!free && limiter.exhausted()) {
    const reply = faultReply({ route: key, kind: 'primary-rate-limit' }, limiter, id);
    send(key, reply, {});
    return;
  }

  let reply: RouteReply;
  try {
    reply = stale === undefined ? await perform() : { status: 200, body: stale };
  } catch (error) {
    if (!(error instanceof GitHubApiError)) throw error;
    fail(key, error, !free);
    return;
  }

  if (method === 'GET' && reply.status === 200 && (reply.body !== undefined || reply.raw)) {
    const etag = etagOf(reply.raw ? reply.raw.bytes.toString('base64') : JSON.stringify(reply.body));
    const caching = {
      etag,
      'cache-control': 'private, max-age=60, s-maxage=60',
      vary: 'Accept, Authorization, Cookie, X-GitHub-OTP',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      // A conditional request answered 304 costs no rate limit, as on GitHub.
      send(key, { status: 304 }, { ...limiter.headers(), ...caching });
      return;
    }
    if (!free) charge();
    send(key, reply, { ...limiter.headers(), ...caching });
    return;
  }
  if (!free) charge();
  send(key, reply, limiter.headers());
}
