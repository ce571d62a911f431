import type Docker from 'dockerode';

/** Docker's multiplexed log frames (8-byte headers) as lines; a TTY's raw text as is. */
export function logLines(buffer: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  const framed =
    buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!framed) return buffer.toString('utf8').split('\n');
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out.push(
      ...buffer
        .subarray(offset + 8, offset + 8 + size)
        .toString('utf8')
        .split('\n'),
    );
    offset += 8 + size;
  }
  return out;
}

/** The last `lines` non-empty lines a container printed, stdout and stderr interleaved. */
export async function logTail(container: Docker.Container, lines = 20): Promise<string[]> {
  const buffer = (await container
    .logs({ stdout: true, stderr: true, tail: lines, follow: false })
    .catch(() => Buffer.alloc(0))) as Buffer;
  return logLines(buffer)
    .filter((l) => l.trim())
    .slice(-lines);
}

/** `docker inspect` of a container by name or id, or undefined when there is none. */
export async function findContainer(
  docker: Docker,
  name: string,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** A container's name as people write it (the engine reports it with a leading slash). */
export const nameOf = (info: Docker.ContainerInspectInfo): string => info.Name.replace(/^\//, '');

/**
 * Removes every tag of `repository` (an image goes with its last tag). By tag, never by id:
 * a build that hit the cache of another repository's build is the very same image, and a
 * forced removal by id would take that repository's tags with it. `noprune` keeps the
 * untagged parent layers, which a build running meanwhile may be using as its cache.
 */
export async function removeRepositoryTags(
  docker: Docker,
  repository: string,
  options: { readonly noprune?: boolean } = {},
): Promise<void> {
  for (const image of await docker.listImages({ filters: { reference: [`${repository}:*`] } })) {
    for (const tag of (image.RepoTags ?? []).filter((t) => t.startsWith(`${repository}:`))) {
      await docker
        .getImage(tag)
        .remove({ noprune: options.noprune ?? false })
        .catch(() => {});
    }
  }
}
