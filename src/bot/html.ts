/** Escapes text for Telegram's HTML parse mode. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Times read the same in chat and in the services' plain-text reasons.
export { formatAgo, formatDuration, formatUtc } from '../time-text.js';

export const shortSha = (sha: string | null | undefined): string => (sha ?? '').slice(0, 7);

const FULL_SHA = /^[0-9a-f]{40}$/;
/** A commit SHA as people read it; anything else (a branch, a tag) as it is. */
export const readableRef = (text: string): string => (FULL_SHA.test(text) ? shortSha(text) : text);

/** A running version as people read it (as /status does): `abc1234 (v1.4.0)`, `abc1234`, or why it is unknown (HTML). */
export function versionText(
  v: { readonly sha?: string; readonly tag?: string; readonly from: string },
  env: string,
): string {
  if (!v.sha) return `unknown: no deploy of ${env} recorded and no GIT_SHA in this build`;
  const sha = `<code>${shortSha(v.sha)}</code>`;
  return v.tag ? `${sha} (${escapeHtml(v.tag)})` : sha;
}
