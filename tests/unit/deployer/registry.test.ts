import { describe, expect, it } from 'vitest';
import {
  createRegistryApi,
  MANIFEST_ACCEPT,
  parseChallenge,
  RegistryError,
} from '../../../src/deployer/registry/registry-api.js';
import {
  digestIn,
  plainHttp,
  planRegistryRetention,
  pushTag,
  registryRepository,
} from '../../../src/deployer/registry/registry-reference.js';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe('registry names', () => {
  it('splits DEPLOY_REGISTRY into the host Docker and the API go to and the repository inside it', () => {
    expect(registryRepository('127.0.0.1:5000', 'lugh')).toEqual({
      host: '127.0.0.1:5000',
      path: 'lugh',
      name: '127.0.0.1:5000/lugh',
    });
    expect(registryRepository('ghcr.io/acme/', 'lugh')).toEqual({
      host: 'ghcr.io',
      path: 'acme/lugh',
      name: 'ghcr.io/acme/lugh',
    });
  });

  it('pushes the local sha tag’s tag, a lugh.yml build’s suffix included', () => {
    expect(pushTag('lugh:sha-0123456789ab')).toBe('sha-0123456789ab');
    expect(pushTag('127.0.0.1:5000/lugh:sha-0123456789ab-web-dockerfile-3fa2c1')).toBe(
      'sha-0123456789ab-web-dockerfile-3fa2c1',
    );
  });

  it('reads a digest only from a reference of its own repository', () => {
    const repo = registryRepository('127.0.0.1:5000', 'lugh');
    expect(digestIn(repo, `127.0.0.1:5000/lugh@${D(1)}`)).toBe(D(1));
    expect(digestIn(repo, `127.0.0.1:5000/other@${D(1)}`)).toBeUndefined();
    expect(digestIn(repo, '127.0.0.1:5000/lugh:sha-0123')).toBeUndefined();
    expect(digestIn(repo, D(1))).toBeUndefined();
  });

  it('talks plain HTTP to loopback registries only, as Docker does', () => {
    expect(plainHttp('127.0.0.1:5000')).toBe(true);
    expect(plainHttp('localhost:5000')).toBe(true);
    expect(plainHttp('[::1]:5000')).toBe(true);
    expect(plainHttp('10.0.0.1:5000')).toBe(false);
    expect(plainHttp('ghcr.io')).toBe(false);
  });
});

describe('registry retention plan', () => {
  it('deletes each unkept manifest once with every sha- tag naming it; never a kept one, nor one a foreign tag names', () => {
    const tags = [
      { tag: 'sha-aaa', digest: D(1) },
      { tag: 'sha-bbb', digest: D(2) },
      { tag: 'sha-ccc', digest: D(2) },
      { tag: 'sha-ddd', digest: D(3) },
      { tag: 'sha-eee', digest: D(4) },
      { tag: 'latest', digest: D(4) },
      { tag: 'v1.0', digest: D(5) },
    ];
    expect(planRegistryRetention(tags, new Set([D(3)]))).toEqual([
      { digest: D(1), tags: ['sha-aaa'] },
      { digest: D(2), tags: ['sha-bbb', 'sha-ccc'] },
    ]);
    expect(planRegistryRetention(tags, new Set([D(1), D(2), D(3)]))).toEqual([]);
  });
});

describe('registry API', () => {
  const repository = registryRepository('registry.example.com/acme', 'lugh');
  const credentials = { username: 'deployer', password: 'hunter2-s3cret' };

  it('parses a bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry",scope="repository:acme/lugh:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry',
        scope: 'repository:acme/lugh:pull',
      },
    });
  });

  it('answers a bearer challenge with a token fetched with the credentials, and asks manifests with the right Accept', async () => {
    const calls: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
    const fake = (async (input: string | URL, init?: RequestInit) => {
      const url = String(input);
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ url, method: init?.method ?? 'GET', headers });
      if (url.startsWith('https://auth.example.com/token'))
        return headers.authorization === `Basic ${Buffer.from('deployer:hunter2-s3cret').toString('base64')}`
          ? Response.json({ token: 'tok-1' })
          : new Response('no', { status: 401 });
      if (headers.authorization !== 'Bearer tok-1')
        return new Response(null, {
          status: 401,
          headers: {
            'www-authenticate':
              'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/lugh:pull"',
          },
        });
      return new Response(null, { status: 200, headers: { 'docker-content-digest': D(7) } });
    }) as typeof fetch;
    const api = createRegistryApi({ repository, credentials, fetch: fake });
    expect(await api.manifestDigest('sha-0123')).toBe(D(7));
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'HEAD https://registry.example.com/v2/acme/lugh/manifests/sha-0123',
      'GET https://auth.example.com/token?service=registry.example.com&scope=repository%3Aacme%2Flugh%3Apull',
      'HEAD https://registry.example.com/v2/acme/lugh/manifests/sha-0123',
    ]);
    expect(calls[2]?.headers.accept).toBe(MANIFEST_ACCEPT);
  });

  it('a refused login names the registry and the user, never the password', async () => {
    const fake = (async () =>
      new Response(null, {
        status: 401,
        headers: { 'www-authenticate': 'Basic realm="r"' },
      })) as typeof fetch;
    const api = createRegistryApi({ repository, credentials, fetch: fake });
    const error = await api.tags().catch((e: Error) => e);
    expect(String(error)).toContain('the registry registry.example.com refused the credentials of deployer');
    expect(JSON.stringify({ error, message: String(error) })).not.toContain('hunter2');
  });

  it('a token server or tag list answering something that is not JSON is named, with what to check, never quoting a token server’s body; never a bare SyntaxError', async () => {
    const html = () =>
      new Response('<html>proxy login</html>', { status: 200, headers: { 'content-type': 'text/html' } });
    const tokenIsHtml = (async (input: string | URL) =>
      String(input).startsWith('https://auth.example.com/')
        ? new Response('token=tok-secret-1', { status: 200 })
        : new Response(null, {
            status: 401,
            headers: { 'www-authenticate': 'Bearer realm="https://auth.example.com/token",service="r"' },
          })) as typeof fetch;
    const token = await createRegistryApi({ repository, credentials, fetch: tokenIsHtml })
      .manifestDigest('sha-0123')
      .catch((e: Error) => e);
    expect(token).toBeInstanceOf(RegistryError);
    expect(String(token)).toContain('the token server https://auth.example.com/token');
    expect(String(token)).toContain('is not JSON');
    expect(String(token)).not.toContain('hunter2');
    expect(String(token)).not.toContain('tok-secret-1');
    const tags = await createRegistryApi({ repository, fetch: (async () => html()) as typeof fetch })
      .tags()
      .catch((e: Error) => e);
    expect(tags).toBeInstanceOf(RegistryError);
    expect(String(tags)).toContain('the registry registry.example.com answered the list of acme/lugh');
    expect(String(tags)).toContain('is not JSON');
  });

  it('says a registry that does not delete, rather than failing', async () => {
    const fake = (async () =>
      Response.json({ errors: [{ code: 'UNSUPPORTED' }] }, { status: 405 })) as typeof fetch;
    expect(await createRegistryApi({ repository, fetch: fake }).deleteManifest(D(1))).toBe('unsupported');
  });
  it('a registry that never answers is given up on, saying so and what to check, not waited for forever', async () => {
    const silent = ((_url: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as typeof fetch;
    const api = createRegistryApi({ repository, credentials, fetch: silent, timeoutMs: 50 });
    const error = await api.tags().catch((e: Error) => e);
    expect(String(error)).toContain('the registry registry.example.com did not answer within 0.05 s');
    expect(String(error)).toContain('DEPLOY_REGISTRY');
    expect(String(error)).not.toContain('hunter2');
  });

  it('a tag list whose next page is one it gave already is refused, not followed around forever', async () => {
    let pages = 0;
    const looping = (async () => {
      pages++;
      if (pages > 10) throw new Error('followed the loop');
      return Response.json(
        { tags: ['sha-a'] },
        { headers: { link: '</v2/acme/lugh/tags/list?last=sha-a&n=1000>; rel="next"' } },
      );
    }) as typeof fetch;
    const error = await createRegistryApi({ repository, fetch: looping })
      .tags()
      .catch((e: Error) => e);
    expect(String(error)).toContain('the registry registry.example.com lists acme/lugh');
    expect(String(error)).toContain('a page it gave already');
  });
});
