import type { Config } from './create-config.js';
import { isSetting, type SettingTree } from './setting.js';
import { SETTINGS } from './settings.js';

function describeTree(tree: SettingTree, values: Record<string, unknown>): [string, unknown][] {
  return Object.entries(tree).flatMap(([key, node]): [string, unknown][] => {
    if (!isSetting(node)) return describeTree(node, values[key] as Record<string, unknown>);
    if (node.describe === 'hidden') return [];
    return [[node.variable, node.describe ? node.describe(values[key] as never) : values[key]]];
  });
}

/** The configuration as `lugh config` prints it: every secret replaced by a marker. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...Object.fromEntries(describeTree(SETTINGS, config)),
    flags: Object.fromEntries(
      config.flagDetails.map((f) => [
        f.key,
        `${f.enabled ? 'on' : 'off'} (${f.source}${f.disabledBy ? `, needs ${f.disabledBy}` : ''})`,
      ]),
    ),
  };
}
