import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTING_LIST } from '../../src/config/settings.js';
import { settingsTable } from '../../src/config/settings-table.js';

const README = new URL('../../README.md', import.meta.url);

describe('the README’s settings table', () => {
  it('is the one the settings make (run settingsTable() and paste it between the markers)', () => {
    const readme = readFileSync(README, 'utf8');
    const documented = /<!-- settings:start[^\n]*-->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
    expect(documented).toBe(settingsTable());
  });

  it('names every variable once, and no other', () => {
    const variables = [...settingsTable().matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(variables).toEqual(SETTING_LIST.map((s) => s.variable));
    expect(new Set(variables).size).toBe(variables.length);
  });
});
