/**
 * Names of images in a registry (DEPLOY_REGISTRY), as data. A registry setting is
 * `host[:port][/path]`; the repository an environment pushes to is `<path>/<DEPLOY_IMAGE_REPOSITORY>`
 * on that host, and Docker names it `<registry>/<repository>`. Pure, tested by equality.
 */

export interface RegistryRepository {
  /** The registry's host (and port): where Docker and the HTTP API v2 go. */
  readonly host: string;
  /** The repository's name inside the registry (`acme/lugh`): the `/v2/<name>/…` of the API. */
  readonly path: string;
  /** How Docker names it: `<host>/<path>`. */
  readonly name: string;
}

export function registryRepository(registry: string, imageRepository: string): RegistryRepository {
  const slash = registry.indexOf('/');
  const host = slash < 0 ? registry : registry.slice(0, slash);
  const prefix = slash < 0 ? '' : registry.slice(slash + 1).replace(/\/+$/, '');
  const path = prefix ? `${prefix}/${imageRepository}` : imageRepository;
  return { host, path, name: `${host}/${path}` };
}

/** The tag a commit's image is pushed as: `sha-<sha12>`, and its build's suffix for a lugh.yml build. */
export function pushTag(localShaTag: string): string {
  return localShaTag.slice(localShaTag.lastIndexOf(':') + 1);
}

/** `<name>@<digest>`: what the later steps deploy, the same bytes on every node. */
export function digestReference(repository: RegistryRepository, digest: string): string {
  return `${repository.name}@${digest}`;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const isDigest = (value: string): boolean => DIGEST.test(value);

/** The digest of an image reference `…@sha256:…` of this repository; undefined for another. */
export function digestIn(repository: RegistryRepository, reference: string): string | undefined {
  const prefix = `${repository.name}@`;
  if (!reference.startsWith(prefix)) return undefined;
  const digest = reference.slice(prefix.length);
  return isDigest(digest) ? digest : undefined;
}

/**
 * Is the registry reached over plain HTTP? Docker itself talks plain HTTP only to
 * loopback registries (and those an engine lists as insecure); so does lugh.
 */
export function plainHttp(host: string): boolean {
  const hostname = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A tag of the registry and the digest it names. */
export interface RegistryTag {
  readonly tag: string;
  readonly digest: string;
}

/** A manifest retention lets go, with the tags that name it (deleting it deletes them all). */
export interface ManifestToDelete {
  readonly digest: string;
  readonly tags: readonly string[];
}

/**
 * Which of lugh's manifests go: every one named by a `sha-` tag whose digest is not kept
 * (an image some environment still keeps, or one a running or previous version uses).
 * Tags lugh did not push (no `sha-` prefix) are never touched, nor the digests they name.
 */
export function planRegistryRetention(
  tags: readonly RegistryTag[],
  keep: ReadonlySet<string>,
): ManifestToDelete[] {
  const foreign = new Set(tags.filter((t) => !t.tag.startsWith('sha-')).map((t) => t.digest));
  const byDigest = new Map<string, string[]>();
  for (const { tag, digest } of tags) {
    if (!tag.startsWith('sha-') || keep.has(digest) || foreign.has(digest)) continue;
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
  }
  return [...byDigest].map(([digest, named]) => ({ digest, tags: [...named].sort() }));
}
