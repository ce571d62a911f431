// The sandbox's staging with previews, in this process (what `lugh sandbox` runs, without
// production, the chat page's users or the demo apps): the GitHub stand-in over the seeded
// repository sending its webhooks to staging, the sandbox's Caddy, previews' Postgres and
// Redis (sandbox-previews.ts), and staging's instance on the given Postgres and Redis. Pull
// requests are opened and closed as a developer does on GitHub (the stand-in's openPull and
// closePull, with GitHub's webhooks); what a preview has (container, database, route) is read from the
// Docker engine, the previews' Postgres and Caddy's admin API.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import pg from 'pg';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { generatePromoteKeys } from '../../src/config/promote-keys.js';
import { previewNames } from '../../src/previews/preview.js';
import { removeSandboxApps } from '../../src/sandbox/launcher/demo-apps.js';
import { sandboxInstanceEnv } from '../../src/sandbox/launcher/instance-env.js';
import { type SandboxPreviews, startSandboxPreviews } from '../../src/sandbox/launcher/sandbox-previews.js';
import { type SandboxServices, startSandboxServices } from '../../src/sandbox/sandbox-services.js';
import { silentLogger } from './logger.js';

export interface PreviewWorld {
  readonly services: SandboxServices;
  readonly previews: SandboxPreviews;
  readonly instance: Instance;
  /** Pushes a branch off develop with one new file and opens a pull request into develop: its number and head. */
  openPull(branch: string, files?: Readonly<Record<string, string>>): Promise<{ pr: number; sha: string }>;
  closePull(pr: number): Promise<void>;
  /** Waits until every webhook the stand-in has to send is answered (staging took it). */
  delivered(): Promise<void>;
  /** The preview's URL, from PREVIEW_URL_TEMPLATE. */
  url(pr: number): string;
  /** GET `pathname` of preview `pr` through Caddy: status and body (status 0: nothing answered). */
  get(pr: number, pathname: string): Promise<{ status: number; body: string }>;
  /** What is left of preview `pr`: its container, database, role and route. */
  parts(pr: number): Promise<{ container: boolean; database: boolean; role: boolean; route: boolean }>;
  stop(): Promise<void>;
}

export async function startPreviewWorld(options: {
  docker: Docker;
  baseImage: string;
  databaseUrls: { staging: string; production: string };
  redisUrl: string;
}): Promise<PreviewWorld> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-preview-world-'));
  const id = randomBytes(3).toString('hex');
  const services = await startSandboxServices({
    dir,
    telegramPort: 0,
    databaseUrls: options.databaseUrls,
    redisUrl: options.redisUrl,
  });
  let previews: SandboxPreviews | undefined;
  let instance: Instance | undefined;
  const stop = async () => {
    await instance?.stop().catch(() => {});
    await removeSandboxApps(options.docker, id).catch(() => {});
    await previews?.stop();
    await services.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    previews = await startSandboxPreviews({
      docker: options.docker,
      dockerReachable: true,
      id,
      dir,
      env: {},
    });
    const env = {
      ...sandboxInstanceEnv(
        services,
        'staging',
        'warn',
        { id, baseImage: options.baseImage, embedded: { staging: false, production: false } },
        generatePromoteKeys(),
        undefined,
        previews.env,
      ),
      REDIS_PREFIX: `staging:pv${id}`,
    };
    const config = createConfig(env);
    instance = await startInstance(config, silentLogger, { previewNamespace: previews.namespace });
  } catch (error) {
    await stop();
    throw error;
  }
  const { github } = services;
  const template = previews.env.PREVIEW_URL_TEMPLATE!;
  const adminUrl = previews.env.PREVIEW_DATABASE_ADMIN_URL;
  const proxyAdmin = previews.env.PREVIEW_PROXY_ADMIN_URL;
  const url = (pr: number) => template.replaceAll('{n}', String(pr));
  const names = (pr: number) => previewNames(pr, previews!.namespace);
  return {
    services,
    previews,
    instance,
    async openPull(branch, files = { 'PREVIEW.md': `${branch}\n` }) {
      const opened = await github.openPull({ headRef: branch, base: 'develop', title: branch, files });
      return { pr: opened.number, sha: opened.headSha };
    },
    closePull: (pr) => github.closePull(pr),
    delivered: () => github.settled(),
    url,
    get(pr, pathname) {
      const target = new URL(url(pr));
      return new Promise((resolve) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: Number(target.port || 80),
            path: `${target.pathname.replace(/\/$/, '')}${pathname}`,
            headers: { host: target.host },
            agent: false,
            timeout: 5_000,
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve({ status: 0, body: '' }));
        req.end();
      });
    },
    async parts(pr) {
      const n = names(pr);
      const containers = await options.docker.listContainers({
        all: true,
        filters: { name: [`^/${n.container}$`] },
      });
      let database = false;
      let role = false;
      if (adminUrl) {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          database =
            (await client.query('select 1 from pg_database where datname = $1', [n.database])).rowCount === 1;
          role = (await client.query('select 1 from pg_roles where rolname = $1', [n.role])).rowCount === 1;
        } finally {
          await client.end();
        }
      }
      const route = proxyAdmin
        ? (await fetch(`${proxyAdmin}/id/${encodeURIComponent(n.routeId)}`)).status === 200
        : false;
      return { container: containers.length > 0, database, role, route };
    },
    stop,
  };
}
