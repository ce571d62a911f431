// The Docker side of previews on the real engine, with one tiny image (a node server FROM
// the base image: /healthz, a Docker health check every second, a lugh.migrate command):
// a preview runs on its own network with its limits and nothing but its environment; a new
// push is replaced health-gated, the old one serving until the new one is healthy; a sick
// one is removed and the old one serves on; migrations run with the preview's environment;
// remove leaves nothing; prune removes only unused preview tags of its namespace; a redeploy
// behind a real Caddy (routed in onHealthy) loses no request of a browser-like client.
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../../../src/deployer/errors.js';
import { createCaddyProxy } from '../../../src/previews/caddy-proxy.js';
import {
  type PreviewContainerSpec,
  PreviewUnhealthyError,
  previewNames,
  previewTagPrefix,
} from '../../../src/previews/preview.js';
import { createPreviewRuntime } from '../../../src/previews/preview-runtime.js';
import { caddyInstalled, getVia, pollThrough, startCaddy } from '../../helpers/caddy.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';

const { docker, engine } = await testDocker();

const SERVER = `
const http = require('http');
const sick = process.env.SICK === '1';
console.log((sick ? 'sick' : 'healthy') + ' server of ' + process.env.NAME + ' listening');
http.createServer((q, s) => {
  if (q.url === '/healthz') { s.statusCode = sick ? 500 : 200; return s.end(sick ? 'sick' : 'ok'); }
  s.end(process.env.NAME);
}).listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;
const MIGRATE = `
console.log('migrating preview ' + process.env.PREVIEW_PR);
if (process.env.MIGRATE_FAILS === '1') { console.log('boom: no such table'); process.exit(3); }
`;

async function build(tag: string, dockerfile: string, files: Record<string, string> = {}): Promise<void> {
  const context = pack();
  for (const [name, text] of Object.entries(files)) context.entry({ name }, text);
  context.entry({ name: 'Dockerfile' }, dockerfile);
  context.finalize();
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    rm: true,
    forcerm: true,
  });
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (e) => (e ? reject(e) : resolve()),
      (ev: { error?: string }) => {
        if (ev.error) errors.push(ev.error);
      },
    ),
  );
  if (errors.length) throw new Error(`building ${tag} failed: ${errors.join('; ')}`);
}

const sha = (c: string) => c.repeat(40);
const WGET = `#!/usr/bin/env node
fetch(process.argv.at(-1), { signal: AbortSignal.timeout(1000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));`;

describe.skipIf(!engine)('the preview runtime (needs Docker)', () => {
  const run = uniqueName('lugh-test-preview');
  const namespace = uniqueName('t');
  const image = `${run}:app`;
  const runtime = createPreviewRuntime({ docker, logger, namespace, imageRepository: run });
  const seven = previewNames(7, namespace);
  const spec = (over: Partial<PreviewContainerSpec> & { name: string; extra?: Record<string, string> }) => {
    const { name, extra, ...rest } = over;
    return {
      names: seven,
      image,
      sha: sha('a'),
      port: 8080,
      memoryBytes: 128 * 2 ** 20,
      nanoCpus: 0.5e9,
      env: {
        PORT: '8080',
        APP_ENV: 'preview',
        PREVIEW_PR: String(rest.names?.pr ?? 7),
        NAME: name,
        ...extra,
      },
      ...rest,
    } satisfies PreviewContainerSpec;
  };
  const get = (upstream: string, path = '/') =>
    fetch(`http://${upstream}${path}`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text());

  beforeAll(async () => {
    const base = await ensureBaseImage(docker);
    await build(
      image,
      `FROM ${base}
COPY server.js migrate.js /app/
LABEL lugh.test=${run} lugh.migrate="[\\"node\\",\\"/app/migrate.js\\"]"
HEALTHCHECK --interval=1s --timeout=3s --start-period=10s --retries=3 CMD wget -q -O /dev/null "http://127.0.0.1:$PORT/healthz"
CMD ["node", "/app/server.js"]
`,
      { 'server.js': SERVER, 'migrate.js': MIGRATE },
    );
  }, 300_000);

  afterAll(async () => {
    for (const pr of [7, 8, 9]) await runtime.remove(previewNames(pr, namespace)).catch(() => {});
    await removeTestResources(docker, run);
  });

  it('runs a preview on its own network, with its limits, lowest priority and nothing but its environment', async () => {
    const started = await runtime.replace(spec({ name: 'one' }), 60_000);
    expect(await get(started.upstream)).toBe('one');
    const info = await docker.getContainer(started.containerId).inspect();
    expect(info.Name).toBe(`/${seven.container}`);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([seven.network]);
    expect(started.upstream).toBe(`${info.NetworkSettings.Networks[seven.network]!.IPAddress}:8080`);
    expect(info.HostConfig).toMatchObject({
      Memory: 128 * 2 ** 20,
      NanoCpus: 0.5e9,
      OomScoreAdj: 1000,
      CpuShares: 128,
      RestartPolicy: { Name: 'unless-stopped' },
    });
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    const imageEnv = (await docker.getImage(image).inspect()).Config.Env ?? [];
    expect(info.Config.Env.filter((e) => !imageEnv.includes(e)).sort()).toEqual(
      ['APP_ENV=preview', 'NAME=one', 'PORT=8080', 'PREVIEW_PR=7'].sort(),
    );
    expect(info.Config.Labels).toMatchObject(seven.labels);
    const network = await docker.getNetwork(seven.network).inspect();
    expect(network.Labels).toMatchObject(seven.labels);
    expect(network.Internal).toBe(false);
    expect(await runtime.health(seven)).toBe('healthy');
    expect(await runtime.list()).toEqual([{ pr: 7, containerId: started.containerId, running: true }]);
    expect(await runtime.logs(seven, 5)).toContain('healthy server of one listening');
  });

  it('replaces it health-gated: the old one serves until the new one is healthy, then goes', async () => {
    const [old] = await runtime.list();
    const oldInfo = await docker.getContainer(old!.containerId).inspect();
    const oldUpstream = `${oldInfo.NetworkSettings.Networks[seven.network]!.IPAddress}:8080`;
    const seen: string[] = [];
    const started = await runtime.replace(spec({ name: 'two', sha: sha('b') }), 60_000, async (healthy) => {
      // Both answer at this moment: the service routes the proxy here.
      seen.push(await get(oldUpstream), await get(healthy.upstream, '/healthz'), await get(healthy.upstream));
    });
    expect(seen).toEqual(['one', 'ok', 'two']);
    expect(await runtime.list()).toEqual([{ pr: 7, containerId: started.containerId, running: true }]);
    expect((await docker.getContainer(started.containerId).inspect()).Name).toBe(`/${seven.container}`);
    await expect(docker.getContainer(old!.containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('removes a new one that never becomes healthy, says why with its last lines, and the old one serves on', async () => {
    const [serving] = await runtime.list();
    const error = await runtime
      .replace(spec({ name: 'three', sha: sha('c'), extra: { SICK: '1' } }), 5_000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewUnhealthyError);
    expect((error as Error).message).toMatch(/cccccc/);
    expect((error as PreviewUnhealthyError).logTail).toContain('sick server of three listening');
    expect(await runtime.list()).toEqual([{ pr: 7, containerId: serving!.containerId, running: true }]);
    const info = await docker.getContainer(serving!.containerId).inspect();
    expect(await get(`${info.NetworkSettings.Networks[seven.network]!.IPAddress}:8080`)).toBe('two');
    // onHealthy refusing (the proxy could not be told) keeps the old one too.
    const refused = runtime.replace(spec({ name: 'four', sha: sha('d') }), 60_000, async () => {
      throw new Error('Caddy said no');
    });
    await expect(refused).rejects.toThrow('Caddy said no');
    expect(await runtime.list()).toEqual([{ pr: 7, containerId: serving!.containerId, running: true }]);
  });

  it('runs the image’s migration with the preview’s environment, and says why one failed', async () => {
    expect(await runtime.migrate(spec({ name: 'm' }), 60_000)).toBe('done');
    const failed = await runtime
      .migrate(spec({ name: 'm', extra: { MIGRATE_FAILS: '1' } }), 60_000)
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(MigrationFailedError);
    expect((failed as Error).message).toMatch(/exited with code 3/);
    expect((failed as MigrationFailedError).logTail).toEqual(['migrating preview 7', 'boom: no such table']);
    expect(await runtime.migrate(spec({ name: 'm', image: await ensureBaseImage(docker) }), 60_000)).toBe(
      'none',
    );
    // No one-off container left behind.
    expect((await runtime.list()).length).toBe(1);
    const all = await docker.listContainers({ all: true, filters: { label: [`lugh.preview=${namespace}`] } });
    expect(all.map((c) => c.Labels['lugh.preview.role'])).toEqual(['app']);
  });

  it('publishes on a loopback port without a proxy, joins the data network, connects the proxy container and asks health through it', async () => {
    const data = `${run}-data`;
    await docker.createNetwork({ Name: data, Labels: { 'lugh.test': run } });
    const proxy = await docker.createContainer({
      name: `${run}-proxy`,
      Image: await ensureBaseImage(docker),
      // A wget as the proxy's (Caddy's busybox): 0 on a 2xx, 1 otherwise.
      Env: [`WGET=${WGET}`],
      Cmd: [
        'sh',
        '-c',
        'echo "$WGET" > /usr/local/bin/wget && chmod +x /usr/local/bin/wget && exec sleep 3600',
      ],
      Labels: { 'lugh.test': run },
    });
    await proxy.start();
    try {
      const published = createPreviewRuntime({
        docker,
        logger,
        namespace,
        publish: true,
        proxyContainer: `${run}-proxy`,
      });
      const eight = previewNames(8, namespace);
      const started = await published.replace(
        spec({ name: 'eight', names: eight, dataNetwork: data }),
        60_000,
      );
      expect(started.upstream).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await get(started.upstream)).toBe('eight');
      const info = await docker.getContainer(started.containerId).inspect();
      expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([data, eight.network].sort());
      expect(Object.keys((await proxy.inspect()).NetworkSettings.Networks)).toContain(eight.network);
      // Health is asked through the proxy's container, as traffic goes: with its wget broken,
      // the preview lugh itself could reach is unhealthy; mended, healthy again.
      expect(await published.health(eight)).toBe('healthy');
      const inProxy = async (command: string) => {
        const exec = await proxy.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        await new Promise((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.resume();
        });
        // The command has ended once Docker says so.
        while ((await exec.inspect()).Running) await new Promise((resolve) => setTimeout(resolve, 50));
      };
      // (Not a link to /bin/false: that is busybox here, which runs as wget under that name.)
      await inProxy("printf '#!/bin/sh\\nexit 1\\n' > /usr/local/bin/wget");
      expect(await published.health(eight)).toBe('unhealthy');
      expect(await get(started.upstream, '/healthz')).toBe('ok');
      await inProxy('echo "$WGET" > /usr/local/bin/wget');
      expect(await published.health(eight)).toBe('healthy');

      await published.remove(eight);
      expect(Object.keys((await proxy.inspect()).NetworkSettings.Networks)).not.toContain(eight.network);
      await expect(docker.getNetwork(eight.network).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(await published.health(eight)).toBe('missing');
      await published.remove(eight);
    } finally {
      // The proxy first: while it is attached, the preview's network cannot go.
      await proxy.remove({ force: true });
      await createPreviewRuntime({ docker, logger, namespace })
        .remove(previewNames(8, namespace))
        .catch(() => {});
      await docker
        .getNetwork(data)
        .remove()
        .catch(() => {});
    }
  });

  it('prunes only its namespace’s preview tags that no container uses', async () => {
    const prefix = previewTagPrefix(run, namespace);
    const [running] = await runtime.list();
    const runningImage = (await docker.getContainer(running!.containerId).inspect()).Image;
    const tag = (ref: string, source: string) =>
      docker.getImage(source).tag({ repo: run, tag: ref.slice(run.length + 1) });
    await tag(`${prefix}7-${sha('a').slice(0, 12)}`, runningImage);
    // Another image nothing runs: its preview tag goes, its other tags stay.
    await build(`${run}:unused`, `FROM ${image}\nLABEL unused=yes\n`);
    await tag(`${prefix}9-${sha('e').slice(0, 12)}`, `${run}:unused`);
    await tag(`${previewTagPrefix(run, uniqueName('t'))}9-${sha('e').slice(0, 12)}`, `${run}:unused`);
    const removed = await runtime.pruneImages();
    expect(removed).toEqual([`${prefix}9-${sha('e').slice(0, 12)}`]);
    const left = (await docker.getImage(`${run}:unused`).inspect()).RepoTags;
    expect(left).toHaveLength(2);
    expect((await docker.getImage(`${prefix}7-${sha('a').slice(0, 12)}`).inspect()).Id).toBe(runningImage);
  });

  it('deletes a preview image left only with the builder’s sha and tree tags; keeps one an environment’s tag is on', async () => {
    const prefix = previewTagPrefix(run, namespace);
    const tag = (ref: string, source: string) =>
      docker.getImage(source).tag({ repo: run, tag: ref.slice(run.length + 1) });
    const idOf = async (ref: string) => (await docker.getImage(ref).inspect()).Id;
    const exists = (id: string) =>
      docker
        .getImage(id)
        .inspect()
        .then(
          () => true,
          (error: { statusCode?: number }) => {
            if (error.statusCode === 404) return false;
            throw error;
          },
        );
    // As builder.ensure tags a preview's image: its preview tag, its commit's and its tree's.
    await build(`${prefix}8-${sha('b').slice(0, 12)}`, `FROM ${image}\nLABEL lone=${run}\n`);
    const lone = await idOf(`${prefix}8-${sha('b').slice(0, 12)}`);
    await tag(`${run}:sha-${sha('b').slice(0, 12)}`, lone);
    await tag(`${run}:tree-${sha('b').slice(0, 16)}`, lone);
    // The same, but staging's deploy of a commit with the same files found it by its tree tag.
    await build(`${prefix}8-${sha('c').slice(0, 12)}`, `FROM ${image}\nLABEL shared=${run}\n`);
    const shared = await idOf(`${prefix}8-${sha('c').slice(0, 12)}`);
    await tag(`${run}:sha-${sha('c').slice(0, 12)}`, shared);
    await tag(`${run}:tree-${sha('c').slice(0, 16)}`, shared);
    await tag(`${run}:staging-${sha('d').slice(0, 12)}`, shared);
    const removed = await runtime.pruneImages();
    expect(removed).toEqual(
      expect.arrayContaining([
        `${prefix}8-${sha('b').slice(0, 12)}`,
        `${run}:sha-${sha('b').slice(0, 12)}`,
        `${run}:tree-${sha('b').slice(0, 16)}`,
        `${prefix}8-${sha('c').slice(0, 12)}`,
      ]),
    );
    expect(await exists(lone)).toBe(false);
    expect(await exists(shared)).toBe(true);
    expect((await docker.getImage(shared).inspect()).RepoTags?.sort()).toEqual(
      [
        `${run}:sha-${sha('c').slice(0, 12)}`,
        `${run}:staging-${sha('d').slice(0, 12)}`,
        `${run}:tree-${sha('c').slice(0, 16)}`,
      ].sort(),
    );
  });

  it.skipIf(!caddyInstalled())(
    'redeploys behind Caddy with no request lost: routed to the new one before the old one goes',
    async () => {
      const caddy = await startCaddy();
      try {
        const nine = previewNames(9, namespace);
        const proxy = createCaddyProxy({
          adminUrl: caddy.adminUrl,
          urlTemplate: `http://127.0.0.1:${caddy.port}/pr-{n}/`,
          namespace,
        });
        const route = async (started: { upstream: string }) => proxy.route(nine, started.upstream);
        await runtime.replace(spec({ name: 'v1', names: nine }), 60_000, route);
        const poll = pollThrough(`http://127.0.0.1:${caddy.port}/pr-9/`, { keepAlive: true });
        await runtime.replace(spec({ name: 'v2', names: nine, sha: sha('f') }), 60_000, route);
        const counted = await poll.stop();
        expect(counted.sent).toBeGreaterThan(10);
        expect(counted.why).toEqual([]);
        expect(counted.failed).toBe(0);
        expect((await getVia(caddy.port, '127.0.0.1', '/pr-9/')).body).toBe('v2');
        expect((await runtime.list()).filter((c) => c.pr === 9)).toHaveLength(1);
        await proxy.unroute(nine);
        await runtime.remove(nine);
      } finally {
        await caddy.close();
      }
    },
  );

  it('removes the preview’s containers and network, and again without error', async () => {
    await runtime.remove(seven);
    expect(await runtime.list()).toEqual([]);
    expect(await runtime.health(seven)).toBe('missing');
    expect(await runtime.logs(seven, 5)).toEqual([]);
    await expect(docker.getNetwork(seven.network).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await runtime.remove(seven);
  });
});
