import { randomBytes } from 'node:crypto';
import {
  branchJson,
  commitJson,
  comparisonJson,
  gitCommitJson,
  gitRefJson,
  tagJson,
} from '../commit-json.js';
import type { StandInCore } from '../core.js';
import { customValidation, GitHubApiError, invalidField, notFound } from '../errors.js';
import { hookDeliveryItemJson, hookJson } from '../hook-json.js';
import { paginate } from '../pagination.js';
import type { Route } from '../route-types.js';
import { emitPing, emitPush } from '../webhook-events.js';

const ZERO_SHA = '0000000000000000000000000000000000000000';

async function commitOr422(core: StandInCore, ref: string): Promise<string> {
  const sha = await core.repo.resolveCommit(ref);
  if (!sha) throw new GitHubApiError(422, `No commit found for SHA: ${ref}`);
  return sha;
}

/** Download links GitHub hands out for archives (codeload), each valid for a few minutes. */
export class ArchiveTokens {
  private readonly issued = new Map<string, { sha: string; expires: number }>();

  constructor(private readonly now: () => number) {}

  issue(sha: string): string {
    const token = randomBytes(16).toString('hex');
    this.issued.set(token, { sha, expires: this.now() + 5 * 60_000 });
    return token;
  }

  /** The commit a download token was issued for, if it is still valid. */
  redeem(token: string, sha: string): boolean {
    const entry = this.issued.get(token);
    return entry !== undefined && entry.sha === sha && entry.expires > this.now();
  }
}

/** The path of an archive download on this server (GitHub's codeload.github.com). */
export function archivePath(owner: string, name: string, sha: string): string {
  return `/_codeload/${owner}/${name}/legacy.tar.gz/${sha}`;
}

/** Repository, refs, commits, comparison, tags and archives. */
export function repositoryRoutes(archives: ArchiveTokens): Route[] {
  return [
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}',
      operationId: 'repos/get',
      handle: async (core) => ({ status: 200, body: await core.repositoryJson() }),
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/branches/{branch}',
      operationId: 'repos/get-branch',
      handle: async (core, { params }) => {
        const sha = await core.repo.branchSha(params.branch!);
        if (!sha) throw new GitHubApiError(404, 'Branch not found');
        const protection = core.state.protections.get(params.branch!);
        return {
          status: 200,
          body: branchJson(core.site, params.branch!, await core.repo.commit(sha), protection),
        };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/git/ref/{ref}',
      operationId: 'git/get-ref',
      handle: async (core, { params }) => {
        const ref = `refs/${params.ref!}`;
        const target = await core.repo.refTarget(ref);
        if (!target) throw notFound();
        return { status: 200, body: gitRefJson(core.site, ref, target) };
      },
    },
    {
      method: 'POST',
      path: '/repos/{owner}/{repo}/git/refs',
      operationId: 'git/create-ref',
      handle: async (core, { body }) => {
        const { ref, sha } = body;
        if (
          typeof ref !== 'string' ||
          !/^refs\/[^/]+\/.+/.test(ref) ||
          ref.includes('..') ||
          /[\s~^:?*[\\]/.test(ref)
        ) {
          throw new GitHubApiError(
            422,
            "Reference name must start with 'refs/' and have at least two slashes.",
          );
        }
        if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha) || !(await core.repo.resolveCommit(sha))) {
          throw new GitHubApiError(422, 'Object does not exist');
        }
        const target = await core.exclusive(async () => {
          if (!(await core.repo.compareAndSwapRef(ref, sha, undefined))) {
            throw new GitHubApiError(422, 'Reference already exists');
          }
          core.pushedAt = core.timestamp();
          return (await core.repo.refTarget(ref))!;
        });
        core.background(emitPush(core, { ref, before: ZERO_SHA, after: sha, commits: [] }));
        const json = gitRefJson(core.site, ref, target);
        return { status: 201, body: json, headers: { location: json.url } };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/commits/{ref}',
      operationId: 'repos/get-commit',
      handle: async (core, { params }) => {
        const sha = await commitOr422(core, params.ref!);
        const info = await core.repo.commit(sha);
        const files = await core.repo.changes(info.parents[0], sha);
        return { status: 200, body: commitJson(core.site, info, files) };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/git/commits/{commit_sha}',
      operationId: 'git/get-commit',
      // The Git database API names objects by SHA only: a branch name is not found here.
      handle: async (core, { params }) => {
        const named = params.commit_sha!;
        const sha = /^[0-9a-f]{4,40}$/.test(named) ? await core.repo.resolveCommit(named) : undefined;
        if (!sha?.startsWith(named)) throw notFound();
        return { status: 200, body: gitCommitJson(core.site, await core.repo.commit(sha)) };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/compare/{basehead}',
      operationId: 'repos/compare-commits-with-basehead',
      handle: async (core, { params, query, url }) => {
        const basehead = params.basehead!;
        const [baseRef, headRef, ...rest] = basehead.split('...');
        if (!baseRef || !headRef || rest.length > 0) throw notFound();
        const local = (ref: string) =>
          ref.startsWith(`${core.site.owner}:`) ? ref.slice(core.site.owner.length + 1) : ref;
        const [base, head] = await Promise.all([
          core.repo.resolveCommit(local(baseRef)),
          core.repo.resolveCommit(local(headRef)),
        ]);
        if (!base || !head) throw notFound();
        const mergeBase = await core.repo.mergeBase(base, head);
        if (!mergeBase)
          throw new GitHubApiError(404, `No common ancestor between ${baseRef} and ${headRef}.`);
        const [aheadBy, behindBy, commits, files, baseInfo, mergeBaseInfo] = await Promise.all([
          core.repo.countBetween(mergeBase, head),
          core.repo.countBetween(mergeBase, base),
          core.repo.commitsBetween(mergeBase, head),
          core.repo.changes(mergeBase, head),
          core.repo.commit(base),
          core.repo.commit(mergeBase),
        ]);
        // As GitHub's reference says: oldest first; without per_page or page at most 250
        // commits, "the last commit in the list is the most recent of the entire comparison"
        // (the newest 250); with them, pages of the whole list, and the files (at most 300 for
        // the entire comparison) only on the first page.
        const paged = query.has('per_page') || query.has('page');
        const { page, headers } = paged
          ? paginate(commits, query, url)
          : { page: commits.slice(-250), headers: {} };
        const firstPage = !paged || Number(query.get('page') ?? 1) === 1;
        const body = comparisonJson(core.site, {
          basehead,
          base: baseInfo,
          mergeBase: mergeBaseInfo,
          aheadBy,
          behindBy,
          commits: page,
          headSha: head,
          files: firstPage ? files.slice(0, 300) : [],
        });
        return { status: 200, body, headers };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/tags',
      operationId: 'repos/list-tags',
      handle: async (core, { query, url }) => {
        const tags = (await core.repo.tags()).map((t) => tagJson(core.site, t.name, t.commit));
        const { page, headers } = paginate(tags, query, url);
        return { status: 200, body: page, headers };
      },
    },
    {
      method: 'GET',
      path: '/repos/{owner}/{repo}/tarball/{ref}',
      operationId: 'repos/download-tarball-archive',
      handle: async (core, { params }) => {
        const sha = await core.repo.resolveCommit(params.ref!);
        if (!sha) throw notFound();
        const token = archives.issue(sha);
        const location = `${core.site.apiUrl}${archivePath(core.site.owner, core.site.name, sha)}?token=${token}`;
        return { status: 302, headers: { location } };
      },
    },
  ];
}

/**
 * Repository webhooks and their recent deliveries. A hook created without
 * `config.content_type` sends `form` (`payload=…`), GitHub's default; `events` defaults to
 * `["push"]`; a new hook gets a `ping`.
 */
export const hookRoutes: Route[] = [
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/hooks',
    operationId: 'repos/list-webhooks',
    handle: async (core, { query, url }) => {
      const hooks = core.webhooks.hooks().map((hook) => hookJson(core.site, hook));
      const { page, headers } = paginate(hooks, query, url);
      return { status: 200, body: page, headers };
    },
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/hooks',
    operationId: 'repos/create-webhook',
    handle: async (core, { body }) => {
      const config = (body.config ?? {}) as Record<string, unknown>;
      if (typeof config.url !== 'string' || !/^https?:\/\//.test(config.url))
        throw invalidField('Hook', 'url');
      const contentType = config.content_type ?? 'form';
      if (contentType !== 'form' && contentType !== 'json') throw invalidField('Hook', 'content_type');
      if (core.webhooks.hooks().some((hook) => hook.url === config.url))
        throw customValidation('Hook', 'Hook already exists on this repository');
      const events = Array.isArray(body.events) ? body.events.map(String) : ['push'];
      const hook = core.webhooks.addHook({
        url: config.url,
        secret: typeof config.secret === 'string' ? config.secret : '',
        contentType,
        events,
      });
      if (body.active === false) hook.active = false;
      const json = hookJson(core.site, hook);
      if (hook.active) core.background(emitPing(core, json));
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries',
    operationId: 'repos/list-webhook-deliveries',
    handle: async (core, { params, query }) => {
      const hookId = Number(params.hook_id);
      if (!core.webhooks.hook(hookId)) throw notFound();
      const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 30) || 30));
      // Newest first, as GitHub lists them (cursor paging is not served: the first page only).
      const items = core.webhooks
        .deliveries()
        .filter((d) => d.hookId === hookId && d.status !== null)
        .reverse()
        .slice(0, perPage)
        .map((d) => hookDeliveryItemJson(core.site, d));
      return { status: 200, body: items };
    },
  },
];

/** The tarball's top-level directory, as GitHub names it. */
export function archivePrefix(core: StandInCore, sha: string): string {
  return `${core.site.owner}-${core.site.name}-${sha.slice(0, 7)}`;
}
