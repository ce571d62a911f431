import type { Comparison } from '../forge/forge.js';

/** The body of the promotion pull request on the forge (Markdown, not chat HTML). */
export function pullBody(comparison: Comparison, requester: string): string {
  const lines = comparison.commits.map((c) => `- ${c.sha.slice(0, 7)} ${c.title} (${c.author})`);
  // The forge may list only the newest commits (GitHub: 250); the PR's Commits tab has them all.
  const older = comparison.aheadBy - comparison.commits.length;
  if (older > 0) lines.push(`- …and ${older} older commit${older === 1 ? '' : 's'} (see the Commits tab)`);
  return [
    `Promotion of \`develop\` to \`main\`, requested from Telegram by ${requester} with lugh.`,
    '',
    `Commits (${comparison.aheadBy}):`,
    ...lines,
  ].join('\n');
}
