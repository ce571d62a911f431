import type { ChatMove } from '../../notifications/chat-migrations.js';

/** What the supergroup is told when it was a group a setting names. */
export function renderChatMove(move: ChatMove): string {
  const lines = [
    `This group became a supergroup: its chat id is now <code>${move.to}</code> (was <code>${move.from}</code>). lugh follows it from now on.`,
  ];
  if (move.settings.length > 0) {
    lines.push(
      'Update the settings that name the old id, in the env file of both instances, and restart them:',
      ...move.settings.map((s) => `• <code>${s.variable}=${s.should}</code>`),
    );
  }
  return lines.join('\n');
}
