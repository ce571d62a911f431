import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../json-response.js';
import type { StandInCore } from '../stand-in.js';
import type { BotState } from '../state.js';
import type { BotCommand } from '../types.js';
import { SandboxUsageError, UnknownBotError } from '../user-side.js';
import { chatPageHeaders, renderChatPage } from './chat-page.js';
import { ChatViewTracker } from './chat-view.js';
import { type PageUser, readPageUsers } from './page-users.js';

export interface ChatPageOptions {
  users?: PageUser[] | undefined;
}

/**
 * The web chat page and the few routes only it needs. Bots are named by username (their
 * handle); no answer here carries a token.
 *
 *   GET /                                              → the page (HTML, inline script and styles)
 *   GET /_sandbox/bots                                 → [{ handle, username, first_name }]
 *   GET /_sandbox/groups?bot=…                         → [{ id, type, title }]: the groups the bot is in
 *   GET /_sandbox/commands?bot=…&chatId=…              → BotCommand[] that apply in that chat
 *   GET /_sandbox/events?bot=…&chatId=…                → text/event-stream of { reset, entries: PageEntry[] }
 *   GET /_sandbox/document?bot=…&chatId=…&messageId=…  → the document's bytes, as an attachment
 *                                                        (a photo's bytes, as an image)
 */
export function createChatPageRoutes(
  core: StandInCore,
  options: ChatPageOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const html = renderChatPage(readPageUsers(options.users));
  return (req, res) => {
    if (req.method !== 'GET') return false;
    try {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      switch (url.pathname) {
        case '/':
          res.writeHead(200, { ...chatPageHeaders(html), 'content-length': Buffer.byteLength(html.body) });
          res.end(html.body);
          return true;
        case '/_sandbox/bots':
          sendJson(res, 200, { ok: true, result: core.registeredBots().map(describeBot) });
          return true;
        case '/_sandbox/groups': {
          const bot = core.botByUsername(url.searchParams.get('bot') ?? '');
          sendJson(res, 200, { ok: true, result: groupsOf(bot) });
          return true;
        }
        case '/_sandbox/commands': {
          const { bot, chatId } = chatOf(core, url);
          sendJson(res, 200, { ok: true, result: commandsIn(bot, chatId) });
          return true;
        }
        case '/_sandbox/events':
          streamChat(core, res, url);
          return true;
        case '/_sandbox/document':
          sendDocument(core, res, url);
          return true;
        default:
          return false;
      }
    } catch (error) {
      const status = error instanceof UnknownBotError ? 404 : error instanceof SandboxUsageError ? 400 : 500;
      sendJson(res, status, { ok: false, error: error instanceof Error ? error.message : String(error) });
      return true;
    }
  };
}

function describeBot(bot: BotState): { handle: string; username: string; first_name: string } {
  return { handle: bot.user.username, username: bot.user.username, first_name: bot.user.first_name };
}

function chatOf(core: StandInCore, url: URL): { bot: BotState; chatId: number } {
  const bot = core.botByUsername(url.searchParams.get('bot') ?? '');
  const chatId = Number(url.searchParams.get('chatId') ?? Number.NaN);
  if (!Number.isInteger(chatId)) throw new SandboxUsageError('chatId must be an integer');
  return { bot, chatId };
}

/** The groups and supergroups the bot is in; a group upgraded to a supergroup is left out (its new id is listed). */
function groupsOf(bot: BotState): Array<{ id: number; type: string; title: string }> {
  return [...bot.chats.values()]
    .filter((c) => c.chat.type !== 'private' && c.migratedTo === undefined)
    .map((c) => ({ id: c.chat.id, type: c.chat.type, title: c.chat.title ?? `Group ${c.chat.id}` }));
}

/**
 * The narrowest scope wins, as in the real clients (a group's id is negative). The keys
 * mirror methods.ts's commandsKey: [scope type, chat_id, user_id, language_code].
 */
function commandsIn(bot: BotState, chatId: number): BotCommand[] {
  const keys = [
    ['chat', String(chatId), '', ''],
    [chatId < 0 ? 'all_group_chats' : 'all_private_chats', '', '', ''],
    ['default', '', '', ''],
  ];
  for (const key of keys) {
    const commands = bot.commands.get(JSON.stringify(key));
    if (commands) return structuredClone(commands);
  }
  return [];
}

/**
 * Server-Sent Events: the whole chat once (`reset: true`), then only what changed, written
 * when the stand-in reports a change to this bot. An idle chat costs no timers at all.
 */
function streamChat(core: StandInCore, res: ServerResponse, url: URL): void {
  const { bot, chatId } = chatOf(core, url);
  const base = `/_sandbox/document?bot=${encodeURIComponent(bot.user.username)}&chatId=${chatId}`;
  const tracker = new ChatViewTracker((messageId) => `${base}&messageId=${messageId}`);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 1000\n\n');
  let reset = true;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (res.destroyed) return;
    const entries = tracker.changes(bot.chats.get(chatId)?.transcript ?? []);
    if (entries.length === 0 && !reset) return;
    res.write(`data: ${JSON.stringify({ reset, entries })}\n\n`);
    reset = false;
  };
  flush();
  // One write per burst: a send, its chat action and its reply often land in the same tick.
  const unsubscribe = core.onChange((changed) => {
    if (changed !== bot || scheduled) return;
    scheduled = true;
    setImmediate(flush);
  });
  res.on('close', unsubscribe);
}

function sendDocument(core: StandInCore, res: ServerResponse, url: URL): void {
  const { bot, chatId } = chatOf(core, url);
  const messageId = Number(url.searchParams.get('messageId'));
  const entry = bot.chats
    .get(chatId)
    ?.transcript.find((e) => e.kind === 'bot_message' && e.message_id === messageId && !e.deleted);
  if (entry?.kind !== 'bot_message' || !(entry.document || entry.photo))
    throw new SandboxUsageError(`no document in message ${messageId} of chat ${chatId}`);
  if (entry.photo) {
    // A photo is shown in the page; the stand-in read it as a PNG or JPEG when it took it.
    const png = entry.photo.content[0] === 0x89;
    res.writeHead(200, {
      'content-type': png ? 'image/png' : 'image/jpeg',
      'content-length': entry.photo.content.length,
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
    });
    res.end(entry.photo.content);
    return;
  }
  const { content, file_name: name = 'document', mime_type: type } = entry.document!;
  res.writeHead(200, {
    'content-type': type ?? 'application/octet-stream',
    'content-length': content.length,
    // The bytes and their type come from the bot: never let the browser run them as a page.
    'content-disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    'content-security-policy': 'sandbox',
    'x-content-type-options': 'nosniff',
  });
  res.end(content);
}
