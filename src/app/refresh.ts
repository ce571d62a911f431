// /refresh staging's parts for one instance: production's RefreshControl (the bot's), and
// staging's mailbox watcher over REFRESH_DIR. Each side gets only its own settings:
// production's DATABASE_URL, signing and hash keys never leave production; staging gets a
// dump and a signed handoff in REFRESH_DIR, nothing else, and answers in a status file there.
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import { createAnonymiser } from '../refresh/anonymiser.js';
import { RefreshRefusedError } from '../refresh/errors.js';
import { RULES_FILE } from '../refresh/rules-file.js';
import { scanKept } from '../refresh/scan.js';
import { createRefreshMailbox, type RefreshMailbox } from '../refresh/staging-mailbox.js';
import { type RefreshControl, refreshStaging } from '../refresh/staging-refresh.js';
import type { LockStore } from '../store/locks.js';
import type { Pool } from '../store/pool.js';
import { createRefreshHandoffStore } from '../store/refresh-handoffs.js';

/** Production with the flag on and every refresh setting: the control /refresh staging runs. */
export function buildRefreshControl(
  config: Config,
  parts: { readonly locks: LockStore; readonly forge?: Forge; readonly gitSha: () => Promise<string | null> },
): RefreshControl | undefined {
  const r = config.refresh;
  if (config.appEnv !== 'production' || !config.flags.staging_refresh) return undefined;
  if (!r.signingKey || !r.hashKey || !r.dir) return undefined;
  const { signingKey, hashKey, dir } = r;
  return {
    async run(requestedBy, onProgress) {
      const sha = await parts.gitSha();
      if (!sha)
        throw new RefreshRefusedError(
          'production does not know its running commit (GIT_SHA), so it cannot read the rules at it',
        );
      if (!parts.forge)
        throw new RefreshRefusedError('the rules are read from GitHub, and GITHUB_REPO is not set');
      const text = await parts.forge.repoFile(sha, RULES_FILE);
      if (text === undefined)
        throw new RefreshRefusedError(
          `there is no ${RULES_FILE} at production’s commit ${sha.slice(0, 7)}: without rules nothing is copied. Add one (README, “Staging with production-shaped data”) and promote it`,
        );
      // The YAML parser is loaded with the first refresh, not at every start.
      const { parseAnonymiseRules } = await import('../refresh/anonymise-rules.js');
      const rules = parseAnonymiseRules(text);
      return refreshStaging(
        {
          prepare: {
            databaseUrl: config.databaseUrl,
            backupsDir: path.join(config.home, 'backups'),
            maxBackupAgeMs: r.maxBackupAgeHours * 3_600_000,
            rules,
            rulesText: text,
            sourceCommit: sha,
            hashKey,
            signingKey,
            anonymise: createAnonymiser(),
            scan: scanKept,
          },
          dir,
          locks: parts.locks,
        },
        requestedBy,
        onProgress,
      );
    },
  };
}

/** Staging's mailbox watcher: only with the flag on and REFRESH_DIR set (production then says it saw no pickup). */
export function buildRefreshMailbox(
  config: Config,
  logger: Logger,
  parts: { readonly pool: Pool; readonly locks: LockStore; readonly report: (html: string) => Promise<void> },
): RefreshMailbox | undefined {
  if (config.appEnv !== 'staging' || !config.flags.staging_refresh || !config.refresh.dir) return undefined;
  return createRefreshMailbox({
    dir: config.refresh.dir,
    verifyKey: config.refresh.verifyKey,
    logger,
    apply: {
      databaseUrl: config.databaseUrl,
      handoffs: createRefreshHandoffStore(parts.pool),
      locks: parts.locks,
      backupsDir: path.join(config.home, 'backups'),
      keepBackups: config.deploy.keepBackups,
      // Loaded on first use: lugh start does not load the migration runner before it replies.
      migrate: async (databaseUrl) => {
        const { runMigrations } = await import('../store/migrate.js');
        await runMigrations({ databaseUrl, logger });
      },
    },
    report: parts.report,
  });
}
