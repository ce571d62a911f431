import type { AppEnv } from '../config/environments.js';
import { withDeadline } from '../deadline.js';
import type { Forge } from '../forge/forge.js';

/** What GitHub says of a running commit: its release tag and when it was made. */
export interface VersionFacts {
  readonly sha: string;
  /** The tag pointing at the commit (the newest listed when several do). */
  readonly tag?: string;
  /** false: the tag list is longer than was read, so "no tag" means none among the newest. */
  readonly tagSearchComplete: boolean;
  readonly committedAt: Date;
}

/** How long "no tag" is believed: a promotion tags its merge commit after production runs it. */
const UNTAGGED_TTL_MS = 5 * 60_000;
/** Commits remembered; an instance sees a handful of versions in its life. */
const MAX_ENTRIES = 32;

/**
 * The tag and age of a commit, cached per SHA: a commit's date never changes and a tag
 * rarely moves, so /status asks GitHub once per version. A lookup that outlives the
 * caller's deadline still fills the cache for the next /status.
 */
export function createVersionLookup(
  forge: Pick<Forge, 'tagsAt' | 'commitDate'>,
  options: { now?: () => number } = {},
) {
  const now = options.now ?? Date.now;
  const dates = new Map<string, Date>();
  const tags = new Map<string, { tag?: string; complete: boolean; at: number }>();
  const remember = <V>(map: Map<string, V>, sha: string, value: V) => {
    map.delete(sha);
    map.set(sha, value);
    if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value!);
  };

  const dateOf = async (sha: string) => {
    const known = dates.get(sha);
    if (known) return known;
    const date = await forge.commitDate(sha);
    remember(dates, sha, date);
    return date;
  };
  const tagOf = async (sha: string) => {
    const known = tags.get(sha);
    if (known && (known.tag || now() - known.at < UNTAGGED_TTL_MS)) return known;
    const found = await forge.tagsAt(sha);
    const entry = { tag: found.tags[0], complete: found.complete, at: now() };
    remember(tags, sha, entry);
    return entry;
  };

  return async (sha: string): Promise<VersionFacts> => {
    const [committedAt, tagged] = await Promise.all([dateOf(sha), tagOf(sha)]);
    return { sha, tag: tagged.tag, tagSearchComplete: tagged.complete, committedAt };
  };
}

/** The version an environment runs, as /whoami, /status and the reports name it. */
export interface RunningVersion {
  /** undefined: no deploy recorded and no GIT_SHA in the build. */
  readonly sha?: string;
  /** The release tag at `sha`, when GitHub answered in time. */
  readonly tag?: string;
  /** `deploy`: the commit of the last deploy whose version ran (RAN in store/deployment-history); `build`: the build's GIT_SHA (nothing deployed yet). */
  readonly from: 'deploy' | 'build' | 'unknown';
}

/** How long a version's tag is waited for before the version is named by its SHA alone. */
const TAG_DEADLINE_MS = 1_500;

/**
 * The running version of `env`: the commit its last deploy whose version ran left running (what
 * the app container runs, recorded once healthy), else the build's GIT_SHA, with its tag
 * from `lookup` when that answers within the deadline. The build alone is not the truth:
 * an instance that deploys an app other than itself (the sandbox's) never changes its own.
 */
export function createRunningVersion(options: {
  env: AppEnv;
  deployments: { runningSha(env: AppEnv): Promise<string | undefined> };
  buildSha: string | null;
  lookup?: (sha: string) => Promise<VersionFacts>;
  tagDeadlineMs?: number;
}): () => Promise<RunningVersion> {
  return async () => {
    const deployed = await options.deployments.runningSha(options.env);
    const sha = deployed ?? options.buildSha ?? undefined;
    if (!sha) return { from: 'unknown' };
    const tag = options.lookup
      ? await withDeadline(options.lookup(sha), options.tagDeadlineMs ?? TAG_DEADLINE_MS).then(
          (facts) => facts.tag,
          () => undefined,
        )
      : undefined;
    return { sha, tag, from: deployed ? 'deploy' : 'build' };
  };
}
