import { plainHttp, type RegistryRepository } from './registry-reference.js';

/** A registry's user and password (DEPLOY_REGISTRY_USERNAME, DEPLOY_REGISTRY_PASSWORD). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The registry said no, or could not be asked. The message names the registry and the
 * user, never the password.
 */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * What a manifest is asked for with: the single-image manifests Docker pushes (and OCI's),
 * and the lists of them. Without it a registry may answer with a converted schema 1
 * manifest, whose digest is not the one Docker pushed.
 */
export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** What deleting a manifest came to: gone now, gone before, or the registry does not delete. */
export type DeleteOutcome = 'deleted' | 'absent' | 'unsupported';

export interface RegistryApi {
  /** The digest a tag (or digest) names, from `Docker-Content-Digest`; undefined when there is none. */
  manifestDigest(reference: string): Promise<string | undefined>;
  /** The repository's tags (none when the repository does not exist yet). */
  tags(): Promise<string[]>;
  deleteManifest(digest: string): Promise<DeleteOutcome>;
}

type Fetch = typeof fetch;

/** The parameters of a `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

/** How long one request to a registry (its answer's body included) may take. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A tag list longer than this many pages is taken for a registry that pages in a loop. */
const MAX_TAG_PAGES = 1_000;

/**
 * The registry's HTTP API v2 for one repository. A 401 is answered as the registry asks:
 * basic auth with the credentials (a registry with an htpasswd file), or a bearer token
 * fetched from its realm with them (Docker Hub, GHCR, a token server). Each request is
 * given up after `timeoutMs`: a registry that takes a connection and never answers must
 * not hold the deploy (and its lock) for good.
 */
/**
 * A response's JSON body; what is not JSON (a proxy's login page, say) is a RegistryError
 * naming `who`, and quoting the body's start only when `quote` (never a token server's: its
 * body may hold a token in another form).
 */
async function jsonOf(response: Response, who: string, quote = true): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    const start = quote ? text.slice(0, 120).replace(/\s+/g, ' ').trim() : '';
    throw new RegistryError(
      `${who} with HTTP ${response.status} and a body that is not JSON (${response.headers.get('content-type') ?? 'no content-type'}${start ? `: ${start}` : ''}): check that DEPLOY_REGISTRY names the registry itself, not a web page or a proxy's login`,
      response.status,
    );
  }
}

export function createRegistryApi(options: {
  readonly repository: RegistryRepository;
  readonly credentials?: RegistryCredentials;
  readonly fetch?: Fetch;
  readonly timeoutMs?: number;
}): RegistryApi {
  const { repository, credentials } = options;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const fetchOnce: Fetch = options.fetch ?? fetch;
  const doFetch = (url: string | URL, init: RequestInit = {}) =>
    fetchOnce(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'TimeoutError')
        throw new RegistryError(
          `the registry ${repository.host} did not answer within ${timeoutMs / 1000} s: check that DEPLOY_REGISTRY (${repository.host}) is up and reachable from this host`,
        );
      throw error;
    });
  const base = `${plainHttp(repository.host) ? 'http' : 'https'}://${repository.host}/v2/${repository.path}`;
  const basic = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    : undefined;
  let authorization: string | undefined;

  const refused = (status: number) =>
    new RegistryError(
      credentials
        ? `the registry ${repository.host} refused the credentials of ${credentials.username} (HTTP ${status})`
        : `the registry ${repository.host} wants credentials (HTTP ${status}): set DEPLOY_REGISTRY_USERNAME and DEPLOY_REGISTRY_PASSWORD`,
      status,
    );

  /** What a challenge asks for, as an Authorization header; undefined when it cannot be met. */
  const answer = async (challenge: string | null): Promise<string | undefined> => {
    const { scheme, params } = parseChallenge(challenge ?? '');
    if (scheme === 'basic') return basic;
    if (scheme !== 'bearer' || !params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const response = await doFetch(url, { headers: basic ? { authorization: basic } : {} });
    if (!response.ok) throw refused(response.status);
    const body = (await jsonOf(
      response,
      `the token server ${url.origin}${url.pathname} (the registry's challenge names it) answered`,
      false,
    )) as { token?: string; access_token?: string } | null;
    const token = body?.token ?? body?.access_token;
    return token ? `Bearer ${token}` : undefined;
  };

  const call = async (method: string, pathAndQuery: string, headers: Record<string, string> = {}) => {
    const url = `${base}${pathAndQuery}`;
    const send = () =>
      doFetch(url, { method, headers: { ...headers, ...(authorization ? { authorization } : {}) } }).catch(
        (error: unknown) => {
          if (error instanceof RegistryError) throw error;
          throw new RegistryError(
            `the registry ${repository.host} did not answer: ${(error as Error).cause ?? (error as Error).message}`,
          );
        },
      );
    let response = await send();
    if (response.status === 401) {
      await response.body?.cancel();
      const header = await answer(response.headers.get('www-authenticate'));
      if (!header) throw refused(401);
      authorization = header;
      response = await send();
      if (response.status === 401) {
        await response.body?.cancel();
        throw refused(401);
      }
    }
    return response;
  };

  const unexpected = async (what: string, response: Response) => {
    const text = (await response.text().catch(() => '')).slice(0, 300).trim();
    return new RegistryError(
      `the registry ${repository.host} answered ${what} with HTTP ${response.status}${text ? `: ${text}` : ''}`,
      response.status,
    );
  };

  return {
    async manifestDigest(reference) {
      const response = await call('HEAD', `/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
      if (response.status === 404) return undefined;
      if (!response.ok) throw await unexpected(`HEAD ${repository.path}:${reference}`, response);
      return response.headers.get('docker-content-digest') ?? undefined;
    },

    async tags() {
      const names: string[] = [];
      const asked = new Set<string>();
      let next: string | undefined = '/tags/list?n=1000';
      while (next) {
        if (asked.has(next) || asked.size >= MAX_TAG_PAGES)
          throw new RegistryError(
            `the registry ${repository.host} lists ${repository.path}'s tags in a loop (its next page is ${asked.has(next) ? 'a page it gave already' : `past ${MAX_TAG_PAGES} pages`}): its tags were not read, so no old image was deleted`,
          );
        asked.add(next);
        const response = await call('GET', next);
        if (response.status === 404) return names;
        if (!response.ok) throw await unexpected(`the list of ${repository.path}'s tags`, response);
        const body = (await jsonOf(
          response,
          `the registry ${repository.host} answered the list of ${repository.path}'s tags`,
        )) as { tags?: string[] | null } | null;
        names.push(...(body?.tags ?? []));
        // `Link: </v2/<name>/tags/list?last=…&n=…>; rel="next"`
        const link = response.headers.get('link')?.match(/<[^>]*\/tags\/list(\?[^>]*)>/);
        next = link ? `/tags/list${link[1]}` : undefined;
      }
      return names;
    },

    async deleteManifest(digest) {
      const response = await call('DELETE', `/manifests/${digest}`);
      await response.body?.cancel();
      if (response.status === 202 || response.status === 200) return 'deleted';
      if (response.status === 404) return 'absent';
      // The distribution registry without `storage.delete.enabled`: 405 UNSUPPORTED.
      if (response.status === 405) return 'unsupported';
      throw new RegistryError(
        `the registry ${repository.host} answered DELETE ${repository.path}@${digest} with HTTP ${response.status}`,
        response.status,
      );
    },
  };
}
