// lugh.anonymise.yml from a local file, for `lugh config --anonymise-rules` and `lugh doctor
// --anonymise-rules` (the bot's /doctor reads it through the forge, app/doctor.ts).
import { readFile } from 'node:fs/promises';
import type { RulesSource } from '../doctor/checks/anonymise-rules.js';
import { checkRules, type RulesCheck } from '../refresh/rules-check.js';

/** The file as the doctor's source: the same text whatever commit production runs (the evidence says so). */
export function rulesFromFile(file: string): RulesSource {
  return async (sha) => ({
    text: await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    }),
    from: `${file}${sha ? ` (a local file, not the file at production's commit ${sha.slice(0, 7)})` : ''}`,
  });
}

/**
 * The rules file checked: valid, and naming every table and column of the database at
 * `databaseUrl` (its schema only). `reachable: false` when only the file could be checked.
 */
export async function checkRulesFile(
  file: string,
  databaseUrl: string,
): Promise<RulesCheck & { reachable: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return {
      ok: false,
      reachable: false,
      evidence: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      fix: 'give --anonymise-rules the path of lugh.anonymise.yml',
    };
  }
  try {
    return { ...(await checkRules(text, databaseUrl, file)), reachable: true };
  } catch (error) {
    // The file parsed (checkRules throws only when the database does not answer).
    return {
      ok: true,
      reachable: false,
      evidence: `${file} is valid; not compared with the database, which did not answer (${(error as Error).message})`,
    };
  }
}
