// The words of /rollback that need care: why one service of a set is not rolled back alone
// unless asked in so many words, and the warnings a confirmation gives first (irreversible
// migrations; one service alone). Pure: features/rollback.ts sends them.
import type { SetMember } from '../../deploys/deploy-control.js';
import type { BackupRecord } from '../../store/backup-records.js';
import type { IrreversibleMigration } from '../../store/deployment-migrations.js';
import { escapeHtml, shortSha } from '../html.js';
import { runsSet, servicesOf, setText } from './set-members.js';

/**
 * Why `/rollback <service>` is refused, or undefined when `/rollback <service> alone` may go
 * on. The set is the unit of a rollback: a service's earlier version may not fit the
 * version the others run (a message format, a migration, an API between them), so one
 * service goes back alone only when asked for in so many words, and its confirmation warns.
 */
export function oneServiceRefusal(
  env: string,
  service: string,
  members: readonly SetMember[],
  alone = false,
): string | undefined {
  const name = escapeHtml(service.slice(0, 30));
  if (!runsSet(members))
    return `${env} runs one service, app (no lugh.yml): <code>/rollback ${env}</code> offers its earlier releases${alone ? '; one service alone is the whole thing' : ''}.`;
  if (!members.some((m) => m.service === service))
    return `${env} has no service ${name}. Its services: ${setText(members)}. <code>/rollback ${env}</code> takes them all back together.`;
  if (servicesOf(members).length < 2)
    return `${env} runs one service, ${setText(members)}: <code>/rollback ${env}</code> is the whole thing.`;
  if (alone) return undefined;
  return [
    `⛔ ${name} alone is not rolled back: the set is the unit. <code>/rollback ${env}</code> takes the whole set (${setText(members)}) back to an earlier deployment’s commit together.`,
    `An earlier ${name} may not fit the version the other services run (a message format, a migration, an API between them). To take it back alone anyway, say so: <code>/rollback ${env} ${name} alone</code>; its confirmation says what may break first.`,
  ].join('\n\n');
}

/**
 * The warning a rollback past irreversible migrations gets: which, applied by which deploy,
 * and the backup taken before the first of them (production's; /restore puts it back).
 */
export function irreversibleWarning(input: {
  env: string;
  sha: string;
  migrations: readonly IrreversibleMigration[];
  backup?: BackupRecord;
}): string {
  const list = input.migrations
    .map(
      (m) =>
        `• <code>${escapeHtml(m.name)}</code> (deploy #${m.deploymentId}${m.sha ? ` of <code>${shortSha(m.sha)}</code>` : ''}): ${escapeHtml(m.why)}`,
    )
    .join('\n');
  const first = input.migrations[0]?.deploymentId;
  const backup =
    input.env !== 'production'
      ? `${input.env} takes no backup before a deploy, so there is no copy of the database before it.`
      : input.backup
        ? `The database as it was before deploy #${first} is in the backup <code>${escapeHtml(input.backup.file)}</code>: after the rollback, /restore puts it back (it replaces production’s database; a backup of the current state is taken first).`
        : `Deploy #${first} recorded no backup, so there is no copy of the database before it.`;
  return [
    `⚠️ Rolling ${input.env} back to <code>${shortSha(input.sha)}</code> goes back past ${input.migrations.length === 1 ? 'a migration' : 'migrations'} that cannot be undone:`,
    list,
    'A rollback deploys the older code only: the database stays as these migrations left it, and that code may not fit it.',
    backup,
    'Roll back anyway?',
  ].join('\n\n');
}

/**
 * What a rollback of one service alone may break, before anything is done: the service runs
 * the earlier commit while the others run the set's; migrations are not undone (the
 * database stays as the set's commit left it, the others rely on it, and the earlier
 * service may not fit it); the next deploy of the set brings the service back to its commit.
 */
export function aloneWarning(input: {
  env: string;
  service: string;
  /** The commit the service goes back to. */
  sha: string;
  /** The commit the set runs (its last release). */
  setSha?: string;
  /** The other services, as people read them (`app ×2, web`; HTML). */
  others: string;
  irreversible: readonly IrreversibleMigration[];
}): string {
  const name = escapeHtml(input.service);
  const at = `<code>${shortSha(input.sha)}</code>`;
  const set = input.setSha ? `<code>${shortSha(input.setSha)}</code>` : 'the set’s commit';
  const others = input.others || 'the other services';
  const past = input.irreversible.length
    ? ` It goes back past migrations that cannot be undone: ${input.irreversible.map((m) => `<code>${escapeHtml(m.name)}</code>`).join(', ')}.`
    : '';
  return [
    `⚠️ Roll ${name} <b>alone</b> back to ${at} in ${input.env}? The set is the unit; this splits it. What may break:`,
    `• ${name} will run ${at} while ${others} run ${set}: a message format, a queue’s jobs or an API between them may not fit.`,
    `• Migrations are not undone: the database stays as ${set} left it, which ${others} rely on, and ${name} at ${at} may not fit it.${past}`,
    `• The next deploy of the set (a /deploy, a promotion, <code>/rollback ${input.env}</code>) brings ${name} back to the set’s commit with the others.`,
  ].join('\n');
}
