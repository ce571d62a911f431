import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** Both environments' env files, as `--env` and `lugh doctor` read them (in the directory lugh runs in). */
export const ENV_FILE_NAMES = { staging: '.env.staging', production: '.env.prod' } as const;

/**
 * Reads env files in order, each followed by its untracked `<file>.local` override
 * (where real secrets live). Later files win; the process environment wins over all.
 */
export function loadEnvFiles(
  files: readonly string[],
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`env file ${file} does not exist`);
    for (const candidate of [file, `${file}.local`]) {
      if (existsSync(candidate)) Object.assign(merged, parseEnv(readFileSync(candidate, 'utf8')));
    }
  }
  return { ...merged, ...processEnv };
}
