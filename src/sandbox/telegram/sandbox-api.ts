import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './json-response.js';
import { readBody } from './request-body.js';
import type { StandInCore } from './stand-in.js';
import type { TranscriptEntry } from './transcript.js';
import { SandboxUsageError, UnknownBotError } from './user-side.js';

/**
 * The user's side of the chats over HTTP, for the web chat page:
 *
 *   POST /_sandbox/send        { token, chat, from, text }                → Message
 *   POST /_sandbox/press       { token, chatId, messageId, data, from }   → { callback_query_id }
 *   POST /_sandbox/block       { token, userId }                          → true
 *   POST /_sandbox/delete      { token, chatId, messageId }               → true (a user deletes it)
 *   POST /_sandbox/migrate     { token, chatId, from }                    → { chat_id } (group → supergroup)
 *   GET  /_sandbox/transcript?token=…&chatId=…                            → TranscriptEntry[]
 *   GET  /_sandbox/bot?token=…                                            → the bot's User (getMe)
 *
 * Each of them also takes `bot: "<username>"` (`?bot=…`) instead of the token, so the web
 * chat page (page/page-routes.ts) can address bots without ever holding a token.
 *
 * Answers are `{ ok: true, result }` or `{ ok: false, error }`; none carries a token.
 */
export async function handleSandboxRequest(
  core: StandInCore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  // Browsers send Origin on cross-site requests: another page open in the same browser
  // must not be able to post as the page's users. Tools without Origin (tests, curl) pass.
  const origin = req.headers.origin;
  if (req.method === 'POST' && origin !== undefined && origin !== `http://${req.headers.host}`) {
    sendJson(res, 403, {
      ok: false,
      error: `requests from ${origin} are not allowed; use the page at http://${req.headers.host}/`,
    });
    return;
  }
  try {
    const result = await dispatch(core, route, req, url);
    if (result === undefined) {
      sendJson(res, 404, { ok: false, error: `no sandbox route ${route}` });
      return;
    }
    sendJson(res, 200, { ok: true, result: result.value });
  } catch (error) {
    const status = error instanceof UnknownBotError ? 404 : error instanceof SandboxUsageError ? 400 : 500;
    sendJson(res, status, { ok: false, error: error instanceof Error ? error.message : String(error) });
  }
}

async function dispatch(
  core: StandInCore,
  route: string,
  req: IncomingMessage,
  url: URL,
): Promise<{ value: unknown } | undefined> {
  switch (route) {
    case 'POST /_sandbox/send': {
      const body = await jsonBody(req);
      const input = { ...body, token: tokenOf(core, body.token, body.bot) };
      return { value: core.sendText(input as unknown as Parameters<StandInCore['sendText']>[0]) };
    }
    case 'POST /_sandbox/press': {
      const body = await jsonBody(req);
      const input = { ...body, token: tokenOf(core, body.token, body.bot) };
      const id = core.pressButton(input as unknown as Parameters<StandInCore['pressButton']>[0]);
      return { value: { callback_query_id: id } };
    }
    case 'POST /_sandbox/block': {
      const body = await jsonBody(req);
      core.blockBot(tokenOf(core, body.token, body.bot), Number(body.userId));
      return { value: true };
    }
    case 'POST /_sandbox/delete': {
      const body = await jsonBody(req);
      core.deleteMessage(tokenOf(core, body.token, body.bot), Number(body.chatId), Number(body.messageId));
      return { value: true };
    }
    case 'POST /_sandbox/migrate': {
      const body = await jsonBody(req);
      const from = body.from as Parameters<StandInCore['migrateGroup']>[2];
      const chatId = core.migrateGroup(tokenOf(core, body.token, body.bot), Number(body.chatId), from);
      return { value: { chat_id: chatId } };
    }
    case 'GET /_sandbox/transcript': {
      const chatId = Number(url.searchParams.get('chatId'));
      if (!Number.isInteger(chatId)) throw new SandboxUsageError('transcript: chatId must be an integer');
      const token = tokenOf(core, url.searchParams.get('token'), url.searchParams.get('bot'));
      return { value: core.transcript(token, chatId).map(toJson) };
    }
    case 'GET /_sandbox/bot':
      return {
        value: core.bot(tokenOf(core, url.searchParams.get('token'), url.searchParams.get('bot'))).user,
      };
    default:
      return undefined;
  }
}

/** The token given, or the token of the bot named by its username. */
function tokenOf(core: StandInCore, token: unknown, username: unknown): string {
  if (typeof token === 'string' && token !== '') return token;
  if (typeof username === 'string' && username !== '') return core.botByUsername(username).token;
  throw new SandboxUsageError('name the bot with `token` or `bot` (its username)');
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  try {
    const body: unknown = JSON.parse(text || '{}');
    if (typeof body === 'object' && body !== null && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // Reported below, with the same message as a non-object body.
  }
  throw new SandboxUsageError('the request body must be a JSON object');
}

/** Document bytes travel as base64 in JSON. */
function toJson(entry: TranscriptEntry): unknown {
  if (entry.kind !== 'bot_message' || !entry.document) return entry;
  const { content, ...document } = entry.document;
  return { ...entry, document: { ...document, content_base64: content.toString('base64') } };
}
