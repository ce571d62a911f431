import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployStep } from './deploy-notifier.js';

/** The failpoints inside one container's switch, and the verify window. */
export type SwitchFailpoint =
  | 'switch:after-stop'
  | 'switch:after-rename'
  | 'switch:after-create'
  | 'switch:after-start'
  | 'switch:during-health'
  | 'verify:during';

/**
 * Places where a fault test stops a deploy to kill it there. `step:<step>` is reached
 * once the step is recorded as started (and announced); the `switch:` ones between the
 * switch's Docker calls; `record:after-finish` once the row is finished, before the
 * final message. In a service set's deploy each container's switch reaches its `switch:`
 * ones twice: plain (every container) and qualified by the container's service and
 * replica (`switch:after-stop:worker-1`, only that one).
 */
export type FailpointName =
  | `step:${DeployStep}`
  | SwitchFailpoint
  | `${SwitchFailpoint}:${string}`
  | 'record:after-finish';

export interface Failpoints {
  /**
   * Returns at once unless `name` is armed: then it logs `failpoint <name> reached` and
   * never resolves (the test kills the process from outside), or, armed as `name@<N>s`,
   * resolves after N seconds (the test changes the world meanwhile, e.g. restarts dockerd).
   */
  reach(name: FailpointName): Promise<void>;
}

/** Failpoints that never fire: the product's default. */
export const noFailpoints: Failpoints = { reach: async () => {} };

export interface FailpointOptions {
  /** Where the counts of `name*N` live; a restarted container finds them again. */
  readonly dir?: string;
  /** Where the `failpoint <name> reached` line goes (stderr, so `docker logs` shows it). */
  readonly write?: (line: string) => void;
}

/** How often an armed failpoint fires, and how long it pauses (Infinity: for good). */
export interface Armed {
  readonly times: number;
  readonly pauseMs: number;
}

/**
 * `a,b*2,c@20s*1` → a: every time, for good; b: twice, for good; c: once, for 20 s.
 * Throws on an item it cannot read (a typo would otherwise arm nothing, silently).
 */
export function parseFailpoints(spec: string | undefined): ReadonlyMap<string, Armed> {
  const armed = new Map<string, Armed>();
  for (const part of (spec ?? '').split(',')) {
    const item = part.trim();
    if (!item) continue;
    const match = /^([^@*]+)(?:@(\d+)s)?(?:\*(\d+))?$/.exec(item);
    if (!match)
      throw new Error(`LUGH_FAILPOINTS: cannot read "${item}" (name, name*N, name@Ns or name@Ns*N)`);
    armed.set(match[1]!, {
      times: match[3] === undefined ? Number.POSITIVE_INFINITY : Number(match[3]),
      pauseMs: match[2] === undefined ? Number.POSITIVE_INFINITY : Number(match[2]) * 1000,
    });
  }
  return armed;
}

/**
 * Failpoints armed by `LUGH_FAILPOINTS` (pass its value): comma-separated names, each
 * `name` (fires every time it is reached) or `name*N` (fires at most N times, counted in
 * a file under os.tmpdir(), so a container restarted after the kill counts on), and
 * either may pause for N seconds only (`name@Ns`, `name@Ns*N`) instead of for good.
 * Inert when the value is unset or empty. For fault tests only.
 */
export function createFailpoints(spec: string | undefined, options: FailpointOptions = {}): Failpoints {
  const armed = parseFailpoints(spec);
  if (armed.size === 0) return noFailpoints;
  const dir = options.dir ?? join(tmpdir(), 'lugh-failpoints');
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const countFile = (name: string) => join(dir, name.replace(/[^a-z0-9-]/gi, '_'));
  const firedSoFar = (name: string) => {
    try {
      return Number(readFileSync(countFile(name), 'utf8')) || 0;
    } catch {
      return 0;
    }
  };

  return {
    reach(name) {
      const arm = armed.get(name);
      if (arm === undefined) return Promise.resolve();
      const fired = firedSoFar(name);
      if (fired >= arm.times) return Promise.resolve();
      mkdirSync(dir, { recursive: true });
      writeFileSync(countFile(name), String(fired + 1));
      write(`failpoint ${name} reached`);
      if (Number.isFinite(arm.pauseMs))
        return new Promise<void>((resolve) => setTimeout(resolve, arm.pauseMs)).then(() =>
          write(`failpoint ${name} passed`),
        );
      // A pending timer keeps the process alive; a bare pending promise would not.
      return new Promise<void>(() => {
        setInterval(() => {}, 1 << 30);
      });
    },
  };
}
