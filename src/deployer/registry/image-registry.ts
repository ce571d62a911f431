import type Docker from 'dockerode';
import { APP_ENVS } from '../../config/environments.js';
import type { Logger } from '../../logger.js';
import { DeployFailureWithLog } from '../errors.js';
import { createRegistryApi, type RegistryApi, type RegistryCredentials } from './registry-api.js';
import {
  digestIn,
  digestReference,
  isDigest,
  planRegistryRetention,
  pushTag,
  type RegistryRepository,
  type RegistryTag,
  registryRepository,
} from './registry-reference.js';

/** Pushing an image failed: the message names the registry (and the user), never the password. */
export class RegistryPushError extends DeployFailureWithLog {
  override name = 'RegistryPushError';
}

/** A commit's image in the registry. */
export interface PublishedImage {
  /** `<registry>/<repository>@sha256:…`: what the later steps deploy. */
  readonly reference: string;
  readonly digest: string;
  /** `sha-<sha12>`: the tag it was pushed as; undefined when it was pushed before (for any commit). */
  readonly pushedAs?: string;
}

/** What retention did in the registry, for the cleanup step's record. */
export interface RegistryPruneResult {
  /** Tags deleted with their manifests. */
  readonly deleted: readonly string[];
  /** Why some old tags stay (the registry refuses deletes, or failed): they are named. */
  readonly notDeleted?: { readonly why: string; readonly tags: readonly string[] };
}

/** What Docker's push API takes as X-Registry-Auth (also what a Swarm service update passes on to its nodes). */
export interface RegistryAuthConfig {
  readonly username: string;
  readonly password: string;
  readonly serveraddress: string;
}

export interface ImageRegistry {
  /** DEPLOY_REGISTRY's repository: `<registry>/<repository>`. */
  readonly repository: RegistryRepository;
  /** Docker's credentials for the registry, when it has a user; never logged. */
  readonly auth?: RegistryAuthConfig;
  /**
   * The image (`imageId`, tagged locally `localShaTag`) in the registry: the digest it was
   * pushed with before, when the registry still has it (not pushed again), else pushed now
   * as `<registry>/<repository>:sha-<sha12>`, its digest checked against the registry's.
   */
  publish(image: { readonly imageId: string; readonly localShaTag: string }): Promise<PublishedImage>;
  /**
   * Deletes lugh's old tags from the registry: every manifest named by a `sha-` tag that no
   * image an environment keeps on this engine (one with a `<repository>:<env>-` tag) and
   * nothing in `inUse` (image ids, or `…@sha256:` references: the running and previous
   * versions) is. Then drops the local digest references of images no tag keeps, so the
   * engine can let them go. Never fails: what it could not do is in the result.
   */
  prune(inUse: readonly string[]): Promise<RegistryPruneResult>;
}

const MAX_LINES_KEPT = 20;

function credentialsOf(username?: string, password?: string): RegistryCredentials | undefined {
  if (username === undefined && password === undefined) return undefined;
  if (!username) throw new Error('DEPLOY_REGISTRY_PASSWORD is set without DEPLOY_REGISTRY_USERNAME');
  if (password === undefined)
    throw new Error('DEPLOY_REGISTRY_USERNAME is set without DEPLOY_REGISTRY_PASSWORD');
  return { username, password };
}

/** Docker's words for a refused login, in a push's error event. */
const REFUSED = /unauthorized|authentication required|no basic auth credentials|denied|401/i;

/** Docker's words for a registry it cannot reach (nothing listening, a wrong name, no answer). */
const UNREACHABLE =
  /connection refused|no such host|Client\.Timeout exceeded|i\/o timeout|no route to host|network is unreachable/i;

/** What to do about a push's failure, when Docker's words say it (else nothing). */
function whatToDo(host: string, failure: string): string {
  if (UNREACHABLE.test(failure))
    return `the registry ${host} cannot be reached from the Docker engine: check that DEPLOY_REGISTRY names a running registry the engine can reach; `;
  if (/server gave HTTP response to HTTPS client/i.test(failure))
    return `the registry ${host} speaks plain HTTP: serve it with TLS, or add it to dockerd's insecure-registries; `;
  return '';
}

/**
 * The registry lugh pushes each build to (DEPLOY_REGISTRY), so that every node runs the
 * same bytes: the image is pushed once, deployed by digest, and its old tags deleted by
 * the cleanup step through the registry's HTTP API v2.
 */
export function createImageRegistry(options: {
  readonly docker: Docker;
  readonly logger: Logger;
  /** DEPLOY_REGISTRY: `host[:port][/path]`. */
  readonly registry: string;
  /** DEPLOY_IMAGE_REPOSITORY: the local images' repository, and the registry's under the path. */
  readonly imageRepository: string;
  readonly username?: string;
  readonly password?: string;
  /** The HTTP client (tests); fetch by default. */
  readonly api?: RegistryApi;
}): ImageRegistry {
  const { docker } = options;
  const repository = registryRepository(options.registry, options.imageRepository);
  const credentials = credentialsOf(options.username, options.password);
  const api = options.api ?? createRegistryApi({ repository, credentials });
  const auth = credentials && { ...credentials, serveraddress: repository.host };
  const log = options.logger.child({ component: 'image-registry', registry: repository.host });
  /** A password in a message from elsewhere (Docker's, a registry's) never goes further. */
  const scrub = (text: string) =>
    credentials?.password ? text.replaceAll(credentials.password, '[redacted]') : text;

  /** Digests of this repository the engine knows the image by (a push records one). */
  const localDigests = (image: { RepoDigests?: string[] | null }): string[] =>
    (image.RepoDigests ?? []).flatMap((r) => {
      const digest = digestIn(repository, r);
      return digest ? [digest] : [];
    });

  const inspect = (ref: string) =>
    docker
      .getImage(ref)
      .inspect()
      .catch(() => undefined);

  /**
   * The digest the registry holds under `reference` (a tag or a digest), asked through the
   * engine (`/distribution/<name>/json`): the engine reaches the registry at the address it
   * pushes to, which lugh in a container may not (a loopback registry is the host's).
   */
  const heldDigest = async (reference: string): Promise<string | undefined> => {
    try {
      const info = await docker.getImage(reference).distribution(auth ? { authconfig: auth } : {});
      return info.Descriptor?.digest;
    } catch (error) {
      const e = error as { statusCode?: number; json?: { message?: string }; message?: string };
      const message = e.json?.message ?? e.message ?? String(error);
      // A manifest the registry does not have (the engine says 404, or 401 as "no such image").
      if (e.statusCode === 404 || /manifest unknown|not found/i.test(message)) return undefined;
      throw new RegistryPushError(
        `the registry ${repository.host} could not be asked for ${reference}: ${scrub(message)}`,
        [],
      );
    }
  };

  /** The digest this image was pushed with, if the registry still has it. */
  const pushedBefore = async (imageId: string): Promise<string | undefined> => {
    const image = await inspect(imageId);
    for (const digest of image ? localDigests(image) : []) {
      const held = await heldDigest(digestReference(repository, digest)).catch(() => undefined);
      if (held === digest) return digest;
    }
    return undefined;
  };

  const push = async (imageId: string, tag: string): Promise<string> => {
    const named = `${repository.name}:${tag}`;
    await docker.getImage(imageId).tag({ repo: repository.name, tag });
    const lines: string[] = [];
    const errors: string[] = [];
    let digest: string | undefined;
    try {
      const stream = await docker.getImage(named).push({ tag, ...(auth ? { authconfig: auth } : {}) });
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(
          stream,
          (error) => (error ? reject(error) : resolve()),
          (event: {
            status?: string;
            id?: string;
            error?: string;
            errorDetail?: { message?: string };
            aux?: { Digest?: string };
          }) => {
            if (event.status) lines.push(scrub(`${event.id ? `${event.id}: ` : ''}${event.status}`));
            // Like a build's, a failed push can end the stream without an error: it is an event.
            const failure = event.errorDetail?.message ?? event.error;
            if (failure) errors.push(scrub(failure.trim()));
            if (event.aux?.Digest) digest = event.aux.Digest;
            if (lines.length > MAX_LINES_KEPT * 5) lines.splice(0, lines.length - MAX_LINES_KEPT);
          },
        );
      });
    } catch (error) {
      errors.push(scrub((error as Error).message));
    }
    const tail = [...lines, ...errors].slice(-MAX_LINES_KEPT);
    const failure = errors.at(-1);
    // A pushed image keeps its registry tag: removing a repository's last tag drops the
    // digest references the push recorded with it, and the engine could no longer run
    // `<registry>/<repository>@sha256:…`. The builder's retention removes it with the
    // image's other tags once no environment keeps the image. A failed push leaves nothing.
    if (failure || !digest || !isDigest(digest))
      await docker
        .getImage(named)
        .remove({ noprune: true })
        .catch(() => {});
    if (failure && REFUSED.test(failure)) {
      throw new RegistryPushError(
        credentials
          ? `the registry ${repository.host} refused the credentials of ${credentials.username}: ${named} was not pushed`
          : `the registry ${repository.host} refused an anonymous push of ${named}: set DEPLOY_REGISTRY_USERNAME and DEPLOY_REGISTRY_PASSWORD`,
        tail,
      );
    }
    if (failure)
      throw new RegistryPushError(
        `pushing ${named} to the registry ${repository.host} failed: ${whatToDo(repository.host, failure)}${failure}`,
        tail,
      );
    if (!digest || !isDigest(digest))
      throw new RegistryPushError(`pushing ${named} to the registry ${repository.host} gave no digest`, tail);
    const held = await heldDigest(named);
    if (held !== digest)
      throw new RegistryPushError(
        `the registry ${repository.host} holds ${held ?? 'nothing'} as ${named}, not the pushed ${digest}`,
        tail,
      );
    return digest;
  };

  return {
    repository,
    auth,

    async publish(image) {
      const before = await pushedBefore(image.imageId);
      if (before) {
        log.info({ digest: before }, 'the image is in the registry already: not pushed again');
        return { reference: digestReference(repository, before), digest: before };
      }
      const tag = pushTag(image.localShaTag);
      const digest = await push(image.imageId, tag);
      log.info({ tag, digest }, 'pushed the image');
      return { reference: digestReference(repository, digest), digest, pushedAs: tag };
    },

    async prune(inUse) {
      let tags: RegistryTag[];
      try {
        tags = [];
        for (const tag of await api.tags()) {
          const digest = await api.manifestDigest(tag);
          if (digest) tags.push({ tag, digest });
        }
      } catch (error) {
        return { deleted: [], notDeleted: { why: scrub((error as Error).message), tags: [] } };
      }
      const keep = new Set<string>();
      // Listed whole: with a reference filter the engine leaves out the names (digests
      // included) that do not match it.
      const local = await docker.listImages();
      const kept = (image: Docker.ImageInfo) =>
        (image.RepoTags ?? []).some((t) =>
          APP_ENVS.some((env) => t.startsWith(`${options.imageRepository}:${env}-`)),
        );
      for (const image of local) if (kept(image)) for (const d of localDigests(image)) keep.add(d);
      for (const used of inUse) {
        const digest = digestIn(repository, used);
        if (digest) keep.add(digest);
        else for (const d of localDigests((await inspect(used)) ?? {})) keep.add(d);
      }
      const deleted: string[] = [];
      const plan = planRegistryRetention(tags, keep);
      for (const [i, { digest, tags: named }] of plan.entries()) {
        let outcome: Awaited<ReturnType<RegistryApi['deleteManifest']>>;
        try {
          outcome = await api.deleteManifest(digest);
        } catch (error) {
          const left = plan.slice(i).flatMap((m) => m.tags);
          return { deleted, notDeleted: { why: scrub((error as Error).message), tags: left } };
        }
        if (outcome === 'unsupported') {
          const left = plan.slice(i).flatMap((m) => m.tags);
          return {
            deleted,
            notDeleted: {
              why: `the registry ${repository.host} does not delete (405 UNSUPPORTED)`,
              tags: left,
            },
          };
        }
        deleted.push(...named);
      }
      if (deleted.length) log.info({ deleted }, 'deleted old tags from the registry');
      // Images no tag keeps any more but a pushed digest: the engine would keep them for good.
      const untagged = (image: Docker.ImageInfo) =>
        !(image.RepoTags ?? []).some((t) => t !== '<none>:<none>');
      for (const image of local) {
        if (!untagged(image)) continue;
        for (const digest of localDigests(image)) {
          await docker
            .getImage(digestReference(repository, digest))
            .remove()
            .catch(() => {});
        }
      }
      return { deleted };
    },
  };
}
