import type { Account } from './account-json.js';
import type { StandInCore } from './core.js';
import { customValidation, invalidField, missingField } from './errors.js';
import { forkOwnerAccount } from './fork-json.js';
import { headRefOf, pullDetail } from './pulls.js';
import type { PullRecord } from './state.js';
import { emitPullRequest } from './webhook-events.js';

function branchOf(core: StandInCore, head: string): string | undefined {
  const colon = head.indexOf(':');
  if (colon === -1) return head;
  return head.slice(0, colon) === core.site.owner ? head.slice(colon + 1) : undefined;
}

interface NewPull {
  readonly title: string;
  readonly body: string | null;
  readonly head: string;
  readonly headRepo?: PullRecord['headRepo'];
  readonly base: string;
  readonly headSha: string;
  readonly baseSha: string;
  readonly draft: boolean;
  readonly maintainerCanModify: boolean;
  readonly user: Account;
}

/** Records a new open pull request, then sends `opened` (by its author) and starts the default CI. */
function recordPull(core: StandInCore, fields: NewPull, number = core.state.nextPullNumber()): PullRecord {
  const at = core.timestamp();
  const pr: PullRecord = {
    number,
    id: core.state.nextId('pull'),
    ...fields,
    state: 'open',
    createdAt: at,
    updatedAt: at,
    closedAt: null,
    mergedAt: null,
    mergedBy: null,
    mergeCommitSha: null,
    mergeability: { key: '', value: null },
  };
  core.state.pulls.push(pr);
  return pr;
}

async function announce(core: StandInCore, pr: PullRecord): Promise<void> {
  const detail = await pullDetail(core, pr, { observe: false });
  const by = pr.user === core.actor ? undefined : pr.user;
  core.background(
    emitPullRequest(core, 'opened', pr, detail, undefined, by).then(() =>
      core.planner.applyDefault(pr.headSha),
    ),
  );
}

/**
 * POST /pulls: GitHub's checks and messages, then the `opened` webhook and the default CI.
 * `user`: who opens it when not the token's account (a person, on the stand-in's page).
 */
export async function createPull(
  core: StandInCore,
  input: {
    title?: unknown;
    head?: unknown;
    base?: unknown;
    body?: unknown;
    draft?: unknown;
    maintainer_can_modify?: unknown;
  },
  user: Account = core.actor,
): Promise<PullRecord> {
  if (typeof input.head !== 'string' || input.head === '') throw missingField('PullRequest', 'head');
  if (typeof input.base !== 'string' || input.base === '') throw missingField('PullRequest', 'base');
  if (typeof input.title !== 'string' || input.title === '') throw missingField('PullRequest', 'title');
  const head = branchOf(core, input.head);
  const base = input.base;
  return core.exclusive(async () => {
    const [headSha, baseSha] = await Promise.all([
      head ? core.repo.branchSha(head) : undefined,
      core.repo.branchSha(base),
    ]);
    if (!baseSha) throw invalidField('PullRequest', 'base');
    if (!head || !headSha) throw invalidField('PullRequest', 'head');
    if (
      core.state.pulls.some((p) => p.state === 'open' && !p.headRepo && p.head === head && p.base === base)
    ) {
      throw customValidation('PullRequest', `A pull request already exists for ${core.site.owner}:${head}.`);
    }
    if ((await core.repo.countBetween(baseSha, headSha)) === 0) {
      throw customValidation('PullRequest', `No commits between ${base} and ${head}`);
    }
    const pr = recordPull(core, {
      title: input.title as string,
      body: typeof input.body === 'string' ? input.body : null,
      head,
      base,
      headSha,
      baseSha,
      draft: input.draft === true,
      maintainerCanModify: input.maintainer_can_modify !== false,
      user,
    });
    await announce(core, pr);
    return pr;
  });
}

export interface ForkPullInput {
  /** The fork, `owner/name`, owned by another account than the repository's. */
  readonly fork: string;
  /** The branch in the fork. */
  readonly headRef: string;
  /** The branch of this repository it asks to merge into (default develop). */
  readonly base?: string;
  readonly title?: string;
  readonly body?: string;
  /** The fork's one commit on top of the base's tip: path → new content. */
  readonly files: Readonly<Record<string, string>>;
  readonly message?: string;
}

const FORK_NAME = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/**
 * A pull request from a fork, as GitHub keeps one: the fork's commit (by the fork's owner, on
 * the base's tip) lives in this repository's objects, reachable at refs/pull/{n}/head, so it
 * can be fetched, read and archived here by SHA; the pull request's head.repo is the fork.
 */
export async function openForkPull(core: StandInCore, input: ForkPullInput): Promise<PullRecord> {
  const named = FORK_NAME.exec(input.fork);
  if (!named) throw new Error(`openForkPull: the fork must be named owner/name, not "${input.fork}"`);
  const [, owner, name] = named as unknown as [string, string, string];
  if (owner.toLowerCase() === core.site.owner.toLowerCase())
    throw new Error(`openForkPull: a fork lives in another account than ${core.site.owner}`);
  const base = input.base ?? 'develop';
  const user = forkOwnerAccount(owner);
  return core.exclusive(async () => {
    const baseSha = await core.repo.branchSha(base);
    if (!baseSha) throw new Error(`openForkPull: the repository has no branch ${base}`);
    const at = Math.floor(core.now() / 1000);
    const author = { name: owner, email: `${user.id}+${owner}@users.noreply.github.com`, at };
    const tree = await core.repo.treeWithFiles(baseSha, input.files);
    const message = input.message ?? `Change from ${owner}`;
    const headSha = await core.repo.commitTree(tree, [baseSha], message, author, author);
    const number = core.state.nextPullNumber();
    const headRepo = { owner, name };
    if (
      !(await core.repo.compareAndSwapRef(
        headRefOf({ number, head: input.headRef, headRepo }),
        headSha,
        undefined,
      ))
    )
      throw new Error(`openForkPull: refs/pull/${number}/head exists already`);
    const pr = recordPull(
      core,
      {
        title: input.title ?? message,
        body: input.body ?? null,
        head: input.headRef,
        headRepo,
        base,
        headSha,
        baseSha,
        draft: false,
        maintainerCanModify: true,
        user,
      },
      number,
    );
    await announce(core, pr);
    return pr;
  });
}
