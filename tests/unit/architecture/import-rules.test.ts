// The import rules of docs/ARCHITECTURE.md hold for every file under src/: a wrong arrow fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf, parseRules, partOf, readSources, violations } from '../../helpers/import-rules.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const rules = parseRules(readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8'));

describe('import rules (docs/ARCHITECTURE.md)', () => {
  it('hold for every file under src/', () => {
    const sources = readSources(ROOT);
    expect(sources.length).toBeGreaterThan(100);
    expect(violations(sources, rules)).toEqual([]);
  });

  it('every folder under src/ is a part the rules name', () => {
    const parts = new Set(readSources(ROOT).map((f) => partOf(f.path, rules)));
    expect([...parts].filter((p) => !rules.parts.has(p!))).toEqual([]);
  });

  it('catch a deployer file importing the bot, grammY outside the bot, Octokit outside forge/github and the product importing the sandbox', () => {
    const wrong = [
      {
        path: 'src/deployer/steps/switch.ts',
        text: "import { renderProgress } from '../../bot/deploys/render.js';",
      },
      { path: 'src/status/status-service.ts', text: "import type { Api } from 'grammy';" },
      { path: 'src/promotion/policy.ts', text: "import { RequestError } from 'octokit';" },
      {
        path: 'src/app/instance.ts',
        text: "export { startTelegramStandIn } from '../sandbox/telegram/index.js';",
      },
      { path: 'src/sandbox/github/router.ts', text: "import { Config } from '../../config/index.js';" },
      {
        path: 'src/bot/features/status.ts',
        text: "const x = await import('../../sandbox/telegram/index.js');",
      },
    ];
    expect(violations(wrong, rules).map((v) => `${v.from} -> ${v.to}`)).toEqual([
      'deployer -> bot',
      'status -> grammy',
      'promotion -> octokit',
      'app -> sandbox',
      'sandbox -> config',
      'bot -> sandbox',
    ]);
  });

  it('reads static, re-export, side-effect and literal dynamic imports, not a computed specifier', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "import './d.js';",
      "const e = await import('./e.js');",
      "const LAUNCHER = '../f.js';",
      'const f = await import(LAUNCHER);',
      'import {',
      '  g,',
      "} from 'g';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js', 'g']);
  });
});
