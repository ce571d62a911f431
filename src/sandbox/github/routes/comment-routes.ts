import { commentJson } from '../comment-json.js';
import type { StandInCore } from '../core.js';
import { customValidation, invalidField, missingField, notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { findPull } from '../pulls.js';
import type { Route } from '../route-types.js';
import type { CommentRecord } from '../state.js';

/** GitHub's limit on a comment's body. */
const MAX_BODY = 65_536;

function validBody(body: unknown): string {
  if (body === undefined || body === null) throw missingField('IssueComment', 'body');
  if (typeof body !== 'string') throw invalidField('IssueComment', 'body');
  if (body.length > MAX_BODY)
    throw customValidation('IssueComment', `Body is too long (maximum is ${MAX_BODY} characters)`, 'body');
  return body;
}

function findComment(core: StandInCore, raw: string): CommentRecord {
  const comment = /^\d+$/.test(raw) ? core.state.comments.find((c) => c.id === Number(raw)) : undefined;
  if (!comment) throw notFound();
  return comment;
}

/** An ISO 8601 `since` as GitHub reads it; its 422 for one it cannot. */
function sinceOf(query: URLSearchParams): number | undefined {
  const raw = query.get('since');
  if (raw === null) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw invalidField('IssueComment', 'since');
  return at;
}

/**
 * Comments in a pull request's conversation, which GitHub serves as issue comments: list
 * (oldest first, `since` by last update), create, read, edit, delete.
 */
export const commentRoutes: Route[] = [
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    operationId: 'issues/list-comments',
    handle: async (core, { params, query, url }) => {
      const pr = findPull(core, params.issue_number!);
      const since = sinceOf(query);
      const comments = core.state.comments.filter(
        (c) => c.issueNumber === pr.number && (since === undefined || Date.parse(c.updatedAt) >= since),
      );
      const { page, headers } = paginate(comments, query, url);
      return { status: 200, body: page.map((c) => commentJson(core.site, c)), headers };
    },
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    operationId: 'issues/create-comment',
    handle: async (core, { params, body }) => {
      const pr = findPull(core, params.issue_number!);
      const text = validBody(body.body);
      const at = core.timestamp();
      const comment: CommentRecord = {
        id: core.state.nextId('comment'),
        issueNumber: pr.number,
        body: text,
        user: core.actor,
        createdAt: at,
        updatedAt: at,
      };
      core.state.comments.push(comment);
      pr.updatedAt = at;
      const json = commentJson(core.site, comment);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    operationId: 'issues/get-comment',
    handle: async (core, { params }) => ({
      status: 200,
      body: commentJson(core.site, findComment(core, params.comment_id!)),
    }),
  },
  {
    method: 'PATCH',
    path: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    operationId: 'issues/update-comment',
    handle: async (core, { params, body }) => {
      const comment = findComment(core, params.comment_id!);
      comment.body = validBody(body.body);
      comment.updatedAt = core.timestamp();
      return { status: 200, body: commentJson(core.site, comment) };
    },
  },
  {
    method: 'DELETE',
    path: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    operationId: 'issues/delete-comment',
    handle: async (core, { params }) => {
      const comment = findComment(core, params.comment_id!);
      core.state.comments.splice(core.state.comments.indexOf(comment), 1);
      return { status: 204 };
    },
  },
];
