import type { Config } from './create-config.js';
import { fileVariableOf } from './secret-files.js';
import { isSetting, type SettingTree } from './setting.js';
import { SETTINGS } from './settings.js';

function describeTree(
  tree: SettingTree,
  values: Record<string, unknown>,
  files: Readonly<Record<string, string>>,
): [string, unknown][] {
  return Object.entries(tree).flatMap(([key, node]): [string, unknown][] => {
    if (!isSetting(node)) return describeTree(node, values[key] as Record<string, unknown>, files);
    if (node.describe === 'hidden') return [];
    const shown = node.describe ? node.describe(values[key] as never) : values[key];
    const file = files[node.variable];
    return [
      [node.variable, file ? `${String(shown)} (from ${fileVariableOf(node.variable)}=${file})` : shown],
    ];
  });
}

/** The configuration as `lugh config` prints it: every secret replaced by a marker. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...Object.fromEntries(describeTree(SETTINGS, config, config.secretFiles ?? {})),
    flags: Object.fromEntries(
      config.flagDetails.map((f) => [
        f.key,
        `${f.enabled ? 'on' : 'off'} (${f.source}${f.defaultFrom ? `: ${f.defaultFrom} is ${f.enabled || f.disabledBy ? 'set' : 'not set'}` : ''}${f.disabledBy ? `, needs ${f.disabledBy}` : ''})`,
      ]),
    ),
  };
}
