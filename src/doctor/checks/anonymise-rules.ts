// /refresh staging's rules: where production has staging_refresh on, lugh.anonymise.yml at
// the commit production runs is valid and names every table and column of production's
// database (its schema only, read-only), so a new column is reported before anyone asks
// for a refresh.
import { resolveFlags } from '../../config/feature-flags.js';
import { checkRules } from '../../refresh/rules-check.js';
import { RULES_FILE } from '../../refresh/rules-file.js';
import type { EnvironmentFacts } from '../facts.js';
import { Unchecked } from '../unchecked.js';
import { type Check, settingsOf, skipped } from './check.js';

/** The rules file at a commit (undefined: the commit has none), and where it was read. */
export type RulesSource = (sha: string | undefined) => Promise<{ text: string | undefined; from: string }>;

/** The commit an environment's app container runs: its `lugh.sha` label, or the GIT_SHA it was built with. */
const runningSha = (f: EnvironmentFacts) =>
  f.container?.Config.Labels?.['lugh.sha'] ?? f.service?.labels['lugh.sha'] ?? f.settings?.GIT_SHA;

export function anonymiseRulesCheck(source: RulesSource | undefined): Check {
  return {
    id: 'anonymise-rules',
    title: `The anonymisation rules (${RULES_FILE}) name every table and column of production's database`,
    async run(_s, p) {
      const settings = settingsOf(p);
      const on = resolveFlags('production', settings).flags.some(
        (x) => x.key === 'staging_refresh' && x.enabled,
      );
      if (!on)
        return { ok: true, evidence: 'staging_refresh is off in production: nothing is copied to staging' };
      if (p.runtime === 'swarm' && (!settings.DATABASE_URL || p.service?.unread.DATABASE_URL))
        return skipped(
          "production's DATABASE_URL is in a Docker secret the audit cannot read; run lugh doctor with the env files in --dir, or ask production's bot /doctor",
        );
      if (!settings.DATABASE_URL)
        throw new Unchecked('production has no DATABASE_URL', 'set DATABASE_URL in .env.prod.local');
      if (!source)
        throw new Unchecked(
          `no way to read ${RULES_FILE} here`,
          `ask production's bot /doctor (it reads the file through GitHub), or run lugh doctor --anonymise-rules <file>`,
        );
      const sha = runningSha(p);
      const { text, from } = await source(sha);
      if (text === undefined)
        return {
          ok: false,
          evidence: `${from} has no ${RULES_FILE}: /refresh staging would refuse`,
          fix: `add ${RULES_FILE} at the repository's root with a rule for every table and column (README, "The anonymisation rules file"), or turn staging_refresh off`,
        };
      let verdict: Awaited<ReturnType<typeof checkRules>>;
      try {
        verdict = await checkRules(text, settings.DATABASE_URL, from);
      } catch (error) {
        // On Swarm the database sits on an internal overlay the host cannot reach by design (as db-role).
        if (p.runtime === 'swarm')
          return skipped(
            `production's database cannot be reached from here (${(error as Error).message}); ask production's bot /doctor`,
          );
        throw new Unchecked(
          `production's database did not answer (${(error as Error).message})`,
          'run the audit where production’s database is reachable',
        );
      }
      return verdict;
    },
  };
}
