import type { Config } from './create-config.js';
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
 * instead of) a parsed configuration must not carry.
 */
export function secretsOfEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  return SETTING_LIST.filter((s): s is Setting & Required<Pick<Setting, 'secret'>> => s.secret !== undefined)
    .flatMap((s) => {
      const value = env[s.variable]?.trim();
      return value ? s.secret(value) : [];
    })
    .filter(worthRedacting);
}
