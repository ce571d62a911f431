import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../../src');
const GITHUB = `${path.join('forge', 'github')}${path.sep}`;
const OCTOKIT_IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)['"](?:octokit|@octokit\/[^'"]+)['"]/;

describe('the forge boundary', () => {
  it('nothing outside src/forge/github imports Octokit', () => {
    const offenders = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.startsWith(GITHUB))
      .filter((file) => OCTOKIT_IMPORT.test(readFileSync(path.join(SRC, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
