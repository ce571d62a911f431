import { describe, expect, it } from 'vitest';
import { MAX_COMMITS_SHOWN, renderCommits } from '../../../src/bot/promotion/render.js';
import type { Comparison } from '../../../src/forge/forge.js';

function comparison(n: number): Comparison {
  const commits = Array.from({ length: n }, (_, i) => ({
    sha: `${String(i).padStart(2, '0')}${'a'.repeat(38)}`,
    title: `Change <${i}> & more`,
    author: `dev${i}`,
  }));
  return {
    status: 'ahead',
    aheadBy: n,
    behindBy: 0,
    commits,
    filesChanged: 3,
    headSha: commits[0]?.sha ?? '',
  };
}

describe('promotion rendering', () => {
  it('lists commits with short SHA, escaped title and author, capped with "and N more"', () => {
    const lines = renderCommits(comparison(13));
    expect(lines).toHaveLength(MAX_COMMITS_SHOWN + 1);
    expect(lines[0]).toBe('• <code>00aaaaa</code> Change &lt;0&gt; &amp; more — dev0');
    expect(lines.at(-1)).toBe('…and 3 more');
    expect(renderCommits(comparison(2))).toHaveLength(2);
  });
});
