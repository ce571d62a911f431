import { type AppEnv, ENVIRONMENTS } from './environments.js';
import { type DefaultContext, defaultOf, type Setting } from './setting.js';
import { SETTING_LIST } from './settings.js';

const cell = (text: string) => text.replaceAll('|', '\\|');

function docsCell(setting: Setting, appEnv: AppEnv): string {
  if (setting.docs) return setting.docs(appEnv);
  if (setting.default === undefined) return '';
  const context: DefaultContext = {
    appEnv,
    environment: ENVIRONMENTS[appEnv],
    adminIds: [],
    runtime: 'docker',
  };
  const value = defaultOf(setting, context);
  const shown = setting.describe && setting.describe !== 'hidden' ? setting.describe(value as never) : value;
  // A parenthesised word ("(none)") is prose, not a value to type.
  return String(shown).startsWith('(') ? String(shown) : `\`${String(shown)}\``;
}

/** The README's table of settings, made from the settings themselves so the two cannot differ. */
export function settingsTable(): string {
  const rows = SETTING_LIST.map((s) =>
    [
      `\`${s.variable}\``,
      docsCell(s, 'staging'),
      docsCell(s, 'production'),
      s.secret ? 'yes' : '',
      s.description,
    ].map(cell),
  );
  rows.push(['`FEATURE_<KEY>`', '', '', '', '`true`/`false`; see Feature flags below and `/flags`']);
  return [
    '| variable | staging | production | secret | notes |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
