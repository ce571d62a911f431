// Which admins (and notify group) each environment's bot can write to, asked of the Bot API
// its settings name (getChat, which writes nothing). Telegram lets no bot write first: an
// admin who never opened a chat with it answers "chat not found". `lugh doctor` prints it
// after the audit; it informs and fails no check (it needs Telegram, the audit does not).
import type { AppEnv } from '../config/environments.js';
import { isPlaceholder } from '../config/placeholder.js';
import { withDeadline } from '../deadline.js';
import { createRedactor } from '../redact.js';
import type { EnvironmentFacts } from './facts.js';

const DEFAULT_API_ROOT = 'https://api.telegram.org';

type BotApiAnswer = {
  ok: boolean;
  result?: { username?: string };
  description?: string;
  error_code?: number;
};

async function call(root: string, token: string, method: string, params: object): Promise<BotApiAnswer> {
  const res = await fetch(`${root.replace(/\/$/, '')}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return (await res.json()) as BotApiAnswer;
}

const ids = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^-?\d+$/.test(s))
    .map(Number);

/** One line for one environment's bot: whom it cannot write to yet, whom it can. */
export async function chatReachLine(f: EnvironmentFacts, timeoutMs = 5_000): Promise<string> {
  const env: AppEnv = f.env;
  const s = f.settings;
  const token = s?.TELEGRAM_BOT_TOKEN?.trim();
  if (!s || !token || isPlaceholder(token)) return `${env}: not asked (no bot token in its settings)`;
  const redact = createRedactor([token]);
  const root = s.TELEGRAM_API_ROOT?.trim() || DEFAULT_API_ROOT;
  const admins = ids(s.ADMIN_IDS);
  const notify = ids(s.NOTIFY_CHAT_ID)[0];
  try {
    return await withDeadline(
      (async () => {
        const me = await call(root, token, 'getMe', {});
        if (!me.ok)
          return `${env}: the Bot API refused the token (${redact(me.description ?? 'no reason given')})`;
        const bot = `${env} @${me.result?.username ?? '?'}`;
        const chats = [...new Set([...admins, ...(notify !== undefined ? [notify] : [])])];
        const answers = await Promise.all(chats.map((id) => call(root, token, 'getChat', { chat_id: id })));
        const opened = (id: number) => answers[chats.indexOf(id)]!.ok;
        const unopened = admins.filter((id) => !opened(id));
        const reached = admins.filter(opened);
        const parts = [
          unopened.length
            ? `cannot write to admin${unopened.length > 1 ? 's' : ''} ${unopened.join(', ')} yet (never opened a chat with it: they send it /start)`
            : undefined,
          reached.length
            ? `writes to admin${reached.length > 1 ? 's' : ''} ${reached.join(', ')}`
            : undefined,
          notify !== undefined && !admins.includes(notify) && !opened(notify)
            ? `cannot write to the notify chat ${notify} (add the bot to it, or fix NOTIFY_CHAT_ID)`
            : undefined,
        ].filter((p): p is string => p !== undefined);
        return `${bot}: ${parts.join('; ') || 'no admins to write to'}`;
      })(),
      timeoutMs,
    );
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return `${env}: could not ask the Bot API at ${redact(root)} (${redact(why)})`;
  }
}

/** The section `lugh doctor` prints after the audit. */
export async function renderChatReach(
  staging: EnvironmentFacts,
  production: EnvironmentFacts,
): Promise<string> {
  const lines = await Promise.all([chatReachLine(staging), chatReachLine(production)]);
  return `\nChats each bot can write to (Telegram lets no bot write first; informs, fails no check)\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
