// The Docker side of previews, over dockerode. A preview's app container runs on its own
// network (`names.network`, made here, labelled), joined to the data network when there is
// one, with the preview's limits and the lowest priority (preview-containers.ts). A new
// push starts a new container beside the running one; only once it is healthy (and routed:
// replace's onHealthy) do the old ones go, and it takes the preview's name
// (`lugh-preview-pr-<n>`). Without a proxy (PREVIEW_PROXY_ADMIN_URL unset: `publish`), its
// port is published on a loopback port Docker picks, and `127.0.0.1:<port>` is both its
// upstream and its URL's address: the fallback lives here, as a container option, because
// only the runtime knows the port; the proxy is then simply absent.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { logTail } from '../deployer/docker-helpers.js';
import { MigrationFailedError } from '../deployer/errors.js';
import { orphanTags } from '../deployer/image-plan.js';
import { migrationCommandOf } from '../deployer/runtime/docker-migration.js';
import type { Logger } from '../logger.js';
import {
  type PreviewHealth,
  type PreviewNames,
  type PreviewRuntime,
  PreviewUnhealthyError,
  previewTagPrefix,
  type StartedPreview,
} from './preview.js';
import {
  addressOn,
  labelFilters,
  migrationContainerOptions,
  previewContainerOptions,
  probeHealthz,
  probeThrough,
  publishedAddress,
  waitPreviewHealthy,
} from './preview-containers.js';

export interface PreviewRuntimeOptions {
  readonly docker: Docker;
  readonly logger: Logger;
  /** previewNames' namespace: '' for lugh's own previews. */
  readonly namespace?: string;
  /** PREVIEW_PROXY_CONTAINER: connected to each preview's network so it can reach the preview. */
  readonly proxyContainer?: string;
  /** No proxy: publish each preview's port on 127.0.0.1 (its upstream is then that). */
  readonly publish?: boolean;
  /** The repository previews' images are tagged in (`<repository>:preview-pr-<n>-<sha12>`), for pruneImages. */
  readonly imageRepository?: string;
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;
const quietly = async (work: Promise<unknown>) => {
  await work.catch(() => {});
};

export function createPreviewRuntime(options: PreviewRuntimeOptions): PreviewRuntime {
  const { docker, logger } = options;
  const namespace = options.namespace ?? '';
  const publish = options.publish ?? false;
  const log = logger.child({ component: 'preview-runtime' });
  // Behind a proxy container, health is asked the way traffic goes: through it.
  const probe = options.proxyContainer ? probeThrough(docker, options.proxyContainer) : probeHealthz;

  /** This preview's containers of `role` (every one when none), newest first. */
  const containersOf = async (names: PreviewNames, role?: string) =>
    (
      await docker.listContainers({ all: true, filters: { label: labelFilters(namespace, names, role) } })
    ).sort((a, b) => b.Created - a.Created);

  /** The container that serves: the one with the preview's name, else the newest running one. */
  const current = async (names: PreviewNames) => {
    const apps = await containersOf(names, 'app');
    return (
      apps.find((c) => c.Names.includes(`/${names.container}`)) ??
      apps.find((c) => c.State === 'running') ??
      apps[0]
    );
  };

  async function ensureNetwork(names: PreviewNames): Promise<void> {
    try {
      await docker.getNetwork(names.network).inspect();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      try {
        await docker.createNetwork({
          Name: names.network,
          Driver: 'bridge',
          // Not internal: the proxy (on the host, or connected to it) must reach the preview.
          Internal: false,
          CheckDuplicate: true,
          Labels: { ...names.labels },
        });
      } catch (created) {
        // Made meanwhile by another call: fine.
        if (statusOf(created) !== 409) throw created;
      }
    }
    if (options.proxyContainer) {
      await docker
        .getNetwork(names.network)
        .connect({ Container: options.proxyContainer })
        .catch((error: unknown) => {
          // Already connected: 403 ("endpoint … already exists") on this engine.
          if (/already exists/i.test(String((error as Error).message))) return;
          throw new Error(
            `could not connect the proxy container ${options.proxyContainer} to ${names.network} (${(error as Error).message}): check PREVIEW_PROXY_CONTAINER names the running proxy's container`,
          );
        });
    }
  }

  /** Creates (joining the data network before it starts) and starts a container; half-made ones removed. */
  async function createAndStart(spec: Docker.ContainerCreateOptions, dataNetwork?: string) {
    const container = await docker.createContainer(spec);
    try {
      if (dataNetwork) await docker.getNetwork(dataNetwork).connect({ Container: container.id });
      await container.start();
    } catch (error) {
      await quietly(container.remove({ force: true }));
      throw error;
    }
    return container;
  }

  return {
    async replace(spec, deadlineMs, onHealthy) {
      const { names } = spec;
      await ensureNetwork(names);
      const before = await containersOf(names, 'app');
      const name = `${names.container}-${spec.sha.slice(0, 7)}-${randomBytes(2).toString('hex')}`;
      const container = await createAndStart(
        previewContainerOptions(spec, name, { publish }),
        spec.dataNetwork,
      );
      const gate = await waitPreviewHealthy(container, names.network, spec.port, deadlineMs, probe).catch(
        (error: unknown) => ({
          healthy: false as const,
          reason: `Docker could not be asked (${String(error)})`,
        }),
      );
      if (!gate.healthy) {
        const tail = await logTail(container);
        await quietly(container.remove({ force: true }));
        log.warn(
          { pr: names.pr, sha: spec.sha.slice(0, 7), reason: gate.reason },
          'preview container unhealthy',
        );
        throw new PreviewUnhealthyError(`the preview of ${spec.sha.slice(0, 7)} was ${gate.reason}`, tail);
      }
      const info = await container.inspect();
      const upstream = publish
        ? publishedAddress(info, spec.port)
        : addressOn(info, names.network, spec.port);
      if (!upstream) {
        await quietly(container.remove({ force: true }));
        throw new PreviewUnhealthyError(`the preview container has no address on ${names.network}`, []);
      }
      const started: StartedPreview = { containerId: container.id, upstream };
      try {
        await onHealthy?.(started);
      } catch (error) {
        await quietly(container.remove({ force: true }));
        throw error;
      }
      for (const old of before) await quietly(docker.getContainer(old.Id).remove({ force: true }));
      // The preview's own name, now free: what people and the audit look for.
      await container.rename({ name: names.container }).catch((error: unknown) => {
        log.warn({ pr: names.pr, err: String(error) }, 'preview container kept its temporary name');
      });
      log.info({ pr: names.pr, sha: spec.sha.slice(0, 7), upstream }, 'preview container replaced');
      return started;
    },

    async migrate(spec, timeoutMs) {
      const command = await migrationCommandOf(docker, spec.image);
      if (!command) return 'none';
      await ensureNetwork(spec.names);
      const options = migrationContainerOptions(spec, command);
      await quietly(docker.getContainer(options.name!).remove({ force: true }));
      const container = await createAndStart(options, spec.dataNetwork);
      try {
        const exit = (await Promise.race([
          container.wait(),
          new Promise((resolve) => setTimeout(resolve, timeoutMs)),
        ])) as { StatusCode: number } | undefined;
        const tail = await logTail(container);
        if (!exit) {
          throw new MigrationFailedError(
            `the preview's migration did not finish within ${Math.round(timeoutMs / 1000)} s`,
            tail,
          );
        }
        if (exit.StatusCode !== 0) {
          throw new MigrationFailedError(`the preview's migration exited with code ${exit.StatusCode}`, tail);
        }
        return 'done';
      } finally {
        await quietly(container.remove({ force: true }));
      }
    },

    async remove(names) {
      for (const c of await containersOf(names)) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch((error: unknown) => {
            if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
          });
      }
      if (options.proxyContainer) {
        await quietly(
          docker.getNetwork(names.network).disconnect({ Container: options.proxyContainer, Force: true }),
        );
      }
      await docker
        .getNetwork(names.network)
        .remove()
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
    },

    async health(names): Promise<PreviewHealth> {
      const found = await current(names);
      if (!found) return 'missing';
      const info = await docker.getContainer(found.Id).inspect();
      if (!info.State.Running) return 'unhealthy';
      const dockerSays = info.State.Health?.Status;
      if (dockerSays === 'unhealthy') return 'unhealthy';
      if (dockerSays === 'starting') return 'starting';
      const port = Number(
        info.Config.Env?.find((e) => e.startsWith('PORT='))?.slice('PORT='.length) ??
          Object.keys(info.Config.ExposedPorts ?? {})[0]?.split('/')[0],
      );
      const address = addressOn(info, names.network, port);
      const asked = address ? await probe(address) : { state: 'unreachable' as const };
      if (asked.state === 'up') return 'healthy';
      if (asked.state === 'unreachable' && dockerSays === 'healthy') return 'healthy';
      return 'unhealthy';
    },

    async logs(names, lines) {
      const found = await current(names);
      return found ? logTail(docker.getContainer(found.Id), lines) : [];
    },

    async list() {
      const all = await docker.listContainers({
        all: true,
        filters: { label: labelFilters(namespace, undefined, 'app') },
      });
      return all
        .map((c) => ({
          pr: Number(c.Labels['lugh.preview.pr']),
          containerId: c.Id,
          running: c.State === 'running',
        }))
        .filter((c) => Number.isInteger(c.pr) && c.pr > 0)
        .sort((a, b) => a.pr - b.pr);
    },

    async pruneImages() {
      if (!options.imageRepository) return [];
      const repository = options.imageRepository;
      const prefix = previewTagPrefix(repository, namespace);
      const inUse = async () => new Set((await docker.listContainers({ all: true })).map((c) => c.ImageID));
      const removed: string[] = [];
      const untag = async (tag: string) =>
        docker
          .getImage(tag)
          .remove({ noprune: true })
          .then(() => removed.push(tag))
          .catch((error: unknown) =>
            log.warn({ tag, err: String(error) }, 'could not remove a preview image tag'),
          );
      const running = await inUse();
      for (const image of await docker.listImages({ filters: { reference: [`${repository}:*`] } })) {
        if (running.has(image.Id)) continue;
        // Only the tags lugh made for previews of this namespace.
        const mine = (image.RepoTags ?? []).filter(
          (tag) => tag.startsWith(prefix) && /^\d+-[0-9a-f]{7,40}$/.test(tag.slice(prefix.length)),
        );
        if (!mine.length) continue;
        for (const tag of mine) await untag(tag);
        // The builder also tagged it by commit and tree (sha-…, tree-…): those alone would keep
        // it for ever. Read again (a deploy may have tagged it meanwhile): an image an
        // environment's tag (staging-…: staging built the same tree), another preview's tag or
        // a container still holds is kept; else its last tags go, and the image with them.
        const rest = await docker
          .getImage(image.Id)
          .inspect()
          .then((info) => info.RepoTags ?? [])
          .catch(() => []);
        if (!rest.length || (await inUse()).has(image.Id)) continue;
        for (const tag of orphanTags(repository, rest)) await untag(tag);
      }
      return removed;
    },
  };
}
