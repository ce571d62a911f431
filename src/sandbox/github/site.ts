import { createHash } from 'node:crypto';

/** Where the stand-in's repository lives, and how its URLs are spelled. */
export interface Site {
  /** e.g. http://127.0.0.1:PORT — what Octokit's baseUrl points at. */
  readonly apiUrl: string;
  readonly owner: string;
  readonly name: string;
  readonly repoId: number;
  /** ISO time the stand-in started, used as the repository's creation time. */
  readonly createdAt: string;
}

/** api.github.com/repos/{owner}/{repo} on this server. */
export function repoApiUrl(site: Site): string {
  return `${site.apiUrl}/repos/${site.owner}/${site.name}`;
}

/** The github.com page of the repository; served by nothing, but a well-formed URL like GitHub's. */
export function repoHtmlUrl(site: Site): string {
  return `${site.apiUrl}/${site.owner}/${site.name}`;
}

/** GitHub's opaque global ids, deterministic here. */
export function nodeId(prefix: string, id: number | string): string {
  return `${prefix}_kw${Buffer.from(String(id)).toString('base64url')}`;
}

/** A stable positive id derived from a string (accounts known only by e-mail). */
export function stableId(text: string): number {
  return 100_000 + (createHash('sha256').update(text).digest().readUInt32BE(0) % 90_000_000);
}

/** GitHub's timestamp format: ISO 8601, UTC, whole seconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
