import type { ContainerUsage } from '../deployer/container-facts.js';

/** A container's CPU and memory as the sampler last saw them, and when. */
export type UsageSample = ContainerUsage & { readonly at: Date };

/** How often the app containers' usage is sampled: CPU is averaged over this span. */
const SAMPLE_EVERY_MS = 15_000;
/** A CPU figure older than this is no longer shown in place of a newer pass without one. */
const KEEP_CPU_MS = 60_000;

export interface UsageSamplerDeps {
  /** The containers to sample on each pass (the app containers of both environments). */
  readonly targets: () => Promise<readonly string[]>;
  /** One look at a container's usage; undefined when it is not running. */
  readonly sample: (name: string) => Promise<ContainerUsage | undefined>;
  readonly everyMs?: number;
  readonly now?: () => Date;
}

/**
 * CPU and memory of the app containers, sampled in the background so /status never waits
 * for Docker's once-a-second stats (CPU is the difference of two samples). Started with the
 * instance and stopped with it; /status reads the last sample.
 */
export function createUsageSampler(deps: UsageSamplerDeps) {
  const every = deps.everyMs ?? SAMPLE_EVERY_MS;
  const now = deps.now ?? (() => new Date());
  const latest = new Map<string, UsageSample>();
  let startedAt: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;

  const take = async (name: string) => {
    const at = now();
    let usage: ContainerUsage | undefined;
    try {
      usage = await deps.sample(name);
    } catch (error) {
      usage = { usageWhy: error instanceof Error ? error.message : String(error) };
    }
    if (!usage) {
      latest.delete(name);
      return;
    }
    const before = latest.get(name);
    // A pass without CPU (Docker's second sample came late) keeps the last figure a while.
    if (
      usage.cpuPercent === undefined &&
      before?.cpuPercent !== undefined &&
      at.getTime() - before.at.getTime() <= KEEP_CPU_MS
    ) {
      latest.set(name, { ...before, memoryBytes: usage.memoryBytes ?? before.memoryBytes });
      return;
    }
    latest.set(name, { ...usage, at });
  };

  /** One pass over every target; a pass still running is joined, not doubled. */
  const sampleNow = (): Promise<void> => {
    pass ??= (async () => {
      try {
        const names = await deps.targets();
        await Promise.all(names.map(take));
        for (const name of latest.keys()) if (!names.includes(name)) latest.delete(name);
      } catch {
        // The targets could not be read (Redis away): the next pass tries again.
      } finally {
        pass = undefined;
      }
    })();
    return pass;
  };

  return {
    sampleNow,
    start(): void {
      if (timer) return;
      startedAt = now();
      void sampleNow();
      timer = setInterval(() => void sampleNow(), every).unref();
    },
    /** Stops sampling and waits for a pass under way. */
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await pass;
    },
    /** The last sample of a container, or undefined when none was taken yet. */
    latest: (name: string): UsageSample | undefined => latest.get(name),
    /** When sampling started; undefined while it has not. */
    startedAt: (): Date | undefined => startedAt,
  };
}

export type UsageSampler = ReturnType<typeof createUsageSampler>;
