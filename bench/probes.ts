// Updates sent while lugh replaces itself, and how they were answered: the self-deploy
// figures of both runtimes (bench/deploy.ts on Docker, bench/swarm.ts on Swarm).
import type { TelegramStandIn } from '../src/sandbox/telegram/stand-in.js';

/** Sends /whoami from a new private chat (ids from `firstChat`) every `everyMs` until `done()`; the chats. */
export async function sendProbes(
  tg: TelegramStandIn,
  token: string,
  firstChat: number,
  everyMs: number,
  done: () => boolean,
): Promise<number[]> {
  const chats: number[] = [];
  for (let i = 0; !done(); i++) {
    const chat = firstChat + i;
    tg.sendText({
      token,
      chat: { id: chat, type: 'private' },
      from: { id: chat, first_name: `probe${i}` },
      text: '/whoami',
    });
    chats.push(chat);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return chats;
}

/**
 * How the probes were answered: unanswered (lost), answered more than once (twice), the
 * longest wait for a first answer (ms), and when each answer came (ms since the epoch).
 */
export function probeAnswers(
  tg: TelegramStandIn,
  token: string,
  chats: readonly number[],
): { lost: number; twice: number; longestWait: number; answeredAt: number[] } {
  let lost = 0;
  let twice = 0;
  let longestWait = 0;
  const answeredAt: number[] = [];
  for (const chat of chats) {
    const transcript = tg.transcript(token, chat);
    const sent = transcript.find((e) => e.kind === 'user_message')?.at;
    const replies = transcript.filter((e) => e.kind === 'bot_message');
    if (replies.length === 0) lost++;
    if (replies.length > 1) twice++;
    if (sent !== undefined && replies[0]) longestWait = Math.max(longestWait, replies[0].at - sent);
    answeredAt.push(...replies.map((r) => r.at));
  }
  return { lost, twice, longestWait, answeredAt };
}
