// The confirmation a rollback waits for: what will run, what runs now, the irreversible
// migrations it goes back past (with /restore's offer of their backup), and for one service
// alone its warning. features/rollback.ts (the picker and the decision) shows it.
import { InlineKeyboard } from 'grammy';
import { withDeadline } from '../../deadline.js';
import type { DeployControl, SetMember } from '../../deploys/deploy-control.js';
import type { BackupChoice } from '../../deploys/restore-control.js';
import type { Deployment } from '../../store/deployments.js';
import type { BotContext } from '../context.js';
import { aloneWarning, irreversibleWarning } from '../deploys/rollback-texts.js';
import { runsSet, setText } from '../deploys/set-members.js';
import { escapeHtml, formatAgo, formatDuration, shortSha } from '../html.js';
import { notModified } from '../telegram-errors.js';
import { offerRestore } from './restore.js';

/** How long /rollback waits for Docker's list of the set's containers. */
const SET_LIST_MS = 2_000;

/** The containers of this environment's set; none when they cannot be listed in time (the picker still works). */
export async function membersOf(control: DeployControl | undefined): Promise<readonly SetMember[]> {
  const listed = control?.serviceContainers?.();
  if (!listed) return [];
  return withDeadline(listed, SET_LIST_MS).catch(() => []);
}

/** What a /restore button carries for a backup file: its name without the environment and `.dump`. */
const tokenOf = (env: string, file: string) => file.replace(`${env}-`, '').replace(/\.dump$/, '');

/**
 * The warning's keyboard, with a row that opens /restore's confirmation for the backup when
 * it is still on disk (restore buttons of their own: the asker's, expiring).
 */
async function withRestoreOffer(
  ctx: BotContext,
  keyboard: InlineKeyboard,
  backup: BackupChoice | undefined,
): Promise<InlineKeyboard> {
  if (!backup) return keyboard;
  const offer = await offerRestore(ctx);
  return keyboard.row().text('Restore that backup…', `restore:pick:${offer.id}:${backup.token}`);
}

export const ignoreNotModified = (error: unknown) => {
  // A second tap on the same picker: the confirmation is showing already.
  if (!notModified(error)) throw error;
};

/**
 * The confirmation of rollback `d` to `release`: what will run, what runs now (read at the
 * tap, not when the picker was sent), the irreversible migrations it goes back past, and
 * when the buttons expire.
 */
export async function confirmRollback(
  ctx: BotContext,
  control: DeployControl,
  d: Deployment,
  release: { id: number; sha: string; deployedAt: Date | null },
  service?: string,
): Promise<void> {
  const env = control.env;
  const [current] = await control.deployments.releases(env, 1);
  const irreversible = await control.deployments.irreversibleSince(env, release.id);
  if (service) {
    const members = await membersOf(control);
    const text = [
      aloneWarning({
        env,
        service,
        sha: release.sha,
        setSha: current?.sha,
        others: setText(members.filter((m) => m.service !== service)),
        irreversible,
      }),
      `Deploy #${d.id} deploys ${escapeHtml(service)} alone at <code>${shortSha(release.sha)}</code>${release.deployedAt ? ` (its release was deployed ${formatAgo(release.deployedAt)})` : ''}: nothing is migrated, and no other container is touched. The buttons expire in ${formatDuration(Math.max(0, (d.confirmExpiresAt?.getTime() ?? Date.now()) - Date.now()))}.`,
    ].join('\n\n');
    const keyboard = new InlineKeyboard()
      .text(`Roll back ${service.slice(0, 30)} alone`, `rollback:yes:${d.id}`)
      .text('Cancel', `rollback:no:${d.id}`);
    await ctx.editMessageText(text, { reply_markup: keyboard }).catch(ignoreNotModified);
    return;
  }
  const backup = irreversible.length
    ? await control.deployments.backupOf(irreversible[0]!.deploymentId)
    : undefined;
  const now = current
    ? `It runs <code>${shortSha(current.sha)}</code> now (deployed ${formatAgo(current.deployedAt)}).`
    : 'No release of it is recorded as running now.';
  const members = await membersOf(control);
  const set = runsSet(members)
    ? ` It is the whole set: ${setText(members)} go back together, as that commit’s lugh.yml declares them.`
    : '';
  const text = [
    `Roll ${env} back to <code>${shortSha(release.sha)}</code>${release.deployedAt ? ` (deployed ${formatAgo(release.deployedAt)})` : ''}? ${now} Deploy #${d.id} deploys <code>${shortSha(release.sha)}</code> again through every step.${set}`,
    ...(irreversible.length
      ? [irreversibleWarning({ env, sha: release.sha, migrations: irreversible, backup })]
      : []),
    `The buttons expire in ${formatDuration(Math.max(0, (d.confirmExpiresAt?.getTime() ?? Date.now()) - Date.now()))}.`,
  ].join('\n\n');
  const keyboard = new InlineKeyboard()
    .text(irreversible.length ? 'Roll back anyway' : 'Roll back', `rollback:yes:${d.id}`)
    .text('Cancel', `rollback:no:${d.id}`);
  await ctx
    .editMessageText(text, {
      reply_markup: await withRestoreOffer(
        ctx,
        keyboard,
        ctx.deps.restore && backup ? await ctx.deps.restore.find(tokenOf(env, backup.file)) : undefined,
      ),
    })
    .catch(ignoreNotModified);
}
