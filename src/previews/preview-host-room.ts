// Whether the host has room for another preview: what it has free (read from /proc/meminfo
// and the disk by src/app/previews.ts) against PREVIEW_MIN_FREE_MEMORY_MB/_DISK_MB. Pure,
// tested by equality (tests/unit/previews/preview-plan.test.ts).

/** What the host has free now. */
export interface HostRoom {
  readonly freeMemoryBytes: number;
  readonly freeDiskBytes: number;
}

const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`;

/** Why the host has no room for another preview, or undefined when it has. */
export function shortOfRoom(
  room: HostRoom,
  min: { memoryBytes: number; diskBytes: number },
): string | undefined {
  if (room.freeMemoryBytes < min.memoryBytes)
    return `the host is short of memory (${mib(room.freeMemoryBytes)} available, previews need ${mib(min.memoryBytes)} free: PREVIEW_MIN_FREE_MEMORY_MB)`;
  if (room.freeDiskBytes < min.diskBytes)
    return `the host is short of disk (${mib(room.freeDiskBytes)} free, previews need ${mib(min.diskBytes)}: PREVIEW_MIN_FREE_DISK_MB)`;
  return undefined;
}

/** MemAvailable of /proc/meminfo's text, in bytes (undefined when it has none). */
export function memAvailable(meminfo: string): number | undefined {
  const match = /^MemAvailable:\s+(\d+)\s*kB$/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : undefined;
}
