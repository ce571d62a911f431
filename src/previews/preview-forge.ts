// What GitHub hears of a preview: a transient Deployment per pushed head (environment
// `preview/pr-<n>`) with its statuses, and ONE pull request comment, created once and
// edited in place (its id kept in the previews row). A forge that fails here never fails
// the preview: the failure is logged and the next change tries again.
import { NotFoundError } from '../forge/errors.js';
import type { Forge, ForgeDeploymentState } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import { withoutUrlPasswords } from '../redact.js';
import type { PreviewRow, PreviewStore } from '../store/previews.js';
import { previewEnvironment } from './preview.js';

/** The marker that says which comment is lugh's preview comment. */
export const PREVIEW_MARKER = '<!-- lugh:preview -->';

/** What the comment says now, besides the record's own facts. */
export interface CommentNews {
  /** The headline, e.g. "building abc1234…", "running", "failed: …". */
  readonly headline: string;
  /** Lines after it (a reason's detail, how to start it again). */
  readonly detail?: readonly string[];
}

const short = (sha: string) => sha.slice(0, 7);

/** The comment's text: the marker, the headline, the link, the commit and the state. */
export function commentBody(
  row: Pick<PreviewRow, 'pr' | 'state' | 'headSha' | 'runningSha' | 'url'>,
  news: CommentNews,
): string {
  const lines = [PREVIEW_MARKER, `**Preview of #${row.pr}**: ${news.headline}`, ''];
  if (
    row.url &&
    (row.state === 'running' || (row.runningSha && row.state !== 'closed' && row.state !== 'stopped'))
  )
    lines.push(`- URL: ${row.url}`);
  if (row.runningSha && row.state !== 'closed' && row.state !== 'stopped')
    lines.push(`- Running: \`${short(row.runningSha)}\``);
  lines.push(`- Head: \`${short(row.headSha)}\``, `- State: ${row.state}`);
  for (const line of news.detail ?? []) lines.push('', line);
  return lines.join('\n');
}

export function createPreviewForge(deps: {
  forge?: Forge;
  store: PreviewStore;
  logger: Logger;
  redact: (t: string) => string;
}) {
  const { forge, store } = deps;
  const log = deps.logger.child({ component: 'preview-forge' });
  const warn = (error: unknown, what: string, pr: number) =>
    log.warn(
      { err: deps.redact(error instanceof Error ? error.message : String(error)), pr },
      `preview: ${what}`,
    );

  return {
    /** Says the preview's state on its pull request: edits the comment, or makes it once. */
    async comment(row: PreviewRow, news: CommentNews): Promise<void> {
      if (!forge) return;
      const body = withoutUrlPasswords(deps.redact(commentBody(row, news)));
      try {
        // Read again: another job may have made the comment since this row was read.
        const commentId = row.commentId ?? (await store.get(row.pr))?.commentId;
        if (commentId !== undefined) {
          try {
            await forge.updateComment(commentId, body);
            return;
          } catch (error) {
            // Deleted by someone: a new one takes its place.
            if (!(error instanceof NotFoundError)) throw error;
          }
        }
        const { id } = await forge.createComment(row.pr, body);
        await store.set(row.pr, { commentId: id });
      } catch (error) {
        warn(error, 'could not write the pull request comment', row.pr);
      }
    },

    /**
     * The forge deployment of the row's head: the one made for it before, or a new transient
     * one. The previous head's stays as it is: it serves until the new head is healthy (the
     * job marks it inactive then). Undefined when the forge cannot make one.
     */
    async deploymentFor(row: PreviewRow): Promise<number | undefined> {
      if (!forge) return undefined;
      if (row.forgeDeploymentId !== undefined && row.forgeDeploymentSha === row.headSha)
        return row.forgeDeploymentId;
      try {
        const { id } = await forge.createDeployment(
          row.headSha,
          previewEnvironment(row.pr),
          `preview of #${row.pr} at ${short(row.headSha)}`,
          { pr: row.pr },
          { transient: true },
        );
        await store.set(row.pr, { forgeDeploymentId: id, forgeDeploymentSha: row.headSha });
        return id;
      } catch (error) {
        warn(error, 'could not create the deployment', row.pr);
        return undefined;
      }
    },

    /** A status of the row's deployment (`environmentUrl` with success). */
    async status(
      pr: number,
      deploymentId: number | undefined,
      state: ForgeDeploymentState,
      description: string,
      environmentUrl?: string,
    ): Promise<void> {
      if (!forge || deploymentId === undefined) return;
      // GitHub keeps a status's description to 140 characters.
      const text = withoutUrlPasswords(deps.redact(description)).slice(0, 140);
      await forge
        .setDeploymentStatus(deploymentId, state, text, environmentUrl)
        .catch((error: unknown) => warn(error, `could not set the deployment ${state}`, pr));
    },
  };
}

export type PreviewForge = ReturnType<typeof createPreviewForge>;
