import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import type { Config } from './create-config.js';
import { ENV_FILE_NAMES } from './env-files.js';
import { isPlaceholder } from './placeholder.js';
import { readSecretFiles } from './secret-files.js';
import { isSetting, type Setting, type SettingTree } from './setting.js';
import { SETTING_LIST, SETTINGS } from './settings.js';

// Shorter values are too common to redact without mangling ordinary text.
const worthRedacting = (s: unknown): s is string => typeof s === 'string' && s.length >= 4;

function secretsIn(tree: SettingTree, values: Record<string, unknown>): readonly (string | undefined)[] {
  return Object.entries(tree).flatMap(([key, node]) => {
    if (!isSetting(node)) return secretsIn(node, values[key] as Record<string, unknown>);
    const value = values[key];
    return node.secret && typeof value === 'string' ? node.secret(value) : [];
  });
}

/** Every secret value in the configuration, for redaction in logs, errors and chat. */
export function secretsOf(config: Config): string[] {
  return secretsIn(SETTINGS, config).filter(worthRedacting);
}

/**
 * Every secret in a raw environment, valid or not: what an error printed before (or
 * instead of) a parsed configuration must not carry. A secret's `<X>_FILE` is read too
 * (the file's content is the secret), and X itself kept even when both are set.
 */
export function secretsOfEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const fromFiles = readSecretFiles(env).env;
  const secrets = SETTING_LIST.filter(
    (s): s is Setting & Required<Pick<Setting, 'secret'>> => s.secret !== undefined,
  )
    .flatMap((s) =>
      [env[s.variable], fromFiles[s.variable]].flatMap((raw) => {
        const value = raw?.trim();
        return value ? s.secret(value) : [];
      }),
    )
    .filter(worthRedacting);
  return [...new Set(secrets)];
}

/**
 * Each secret of a raw environment with the variable it is (a part) of, placeholders left
 * out: what the audit looks for in a preview's environment, naming the variable, never the value.
 */
export function namedSecretsOfEnv(
  env: Readonly<Record<string, string | undefined>>,
): { readonly variable: string; readonly value: string }[] {
  return SETTING_LIST.flatMap((s) => {
    const raw = env[s.variable]?.trim();
    if (!s.secret || !raw) return [];
    return s
      .secret(raw)
      .filter(worthRedacting)
      .filter((value) => !isPlaceholder(value))
      .map((value) => ({ variable: s.variable, value }));
  });
}

/**
 * Every secret set in the env files of both environments (and their `.local` overrides)
 * that this process can read in `dir`: another environment's token or password must not
 * leave through this one either. Placeholders are not secrets; unreadable files are skipped.
 */
export function secretsOfEnvFiles(dir: string = process.cwd()): string[] {
  return Object.values(ENV_FILE_NAMES).flatMap((name) => {
    const env: Record<string, string> = {};
    for (const file of [name, `${name}.local`]) {
      try {
        Object.assign(env, parseEnv(readFileSync(path.join(dir, file), 'utf8')));
      } catch {
        // Absent or unreadable: nothing of it can leak from here.
      }
    }
    return secretsOfEnv(env).filter((s) => !isPlaceholder(s));
  });
}

/** The secrets this process must never let out: its configuration's and those of both env files it can see. */
export function secretsSeen(config: Config, dir?: string): string[] {
  return [...new Set([...secretsOf(config), ...secretsOfEnvFiles(dir)])];
}
