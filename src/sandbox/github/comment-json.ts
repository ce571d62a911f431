import { userJson } from './account-json.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';
import type { CommentRecord } from './state.js';

/** issue-comment, as GitHub answers for a comment in a pull request's conversation. */
export function commentJson(site: Site, comment: CommentRecord) {
  const api = repoApiUrl(site);
  const url = `${api}/issues/comments/${comment.id}`;
  return {
    url,
    html_url: `${repoHtmlUrl(site)}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${api}/issues/${comment.issueNumber}`,
    id: comment.id,
    node_id: nodeId('IC', comment.id),
    user: userJson(site, comment.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: 'NONE',
    body: comment.body,
    reactions: {
      url: `${url}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
    performed_via_github_app: null,
  };
}
