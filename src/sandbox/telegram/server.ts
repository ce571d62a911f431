import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BotApiError, notFound } from './errors.js';
import { sendJson } from './json-response.js';
import { type ChatPageOptions, createChatPageRoutes } from './page/page-routes.js';
import { parseParams, readBody } from './request-body.js';
import { handleSandboxRequest } from './sandbox-api.js';
import type { StandInCore } from './stand-in.js';

const botApiPath = /^\/bot([^/]+)\/(?:test\/)?([^/]*)$/;
const filePath = /^\/file\/bot([^/]+)\/(.+)$/;

/** The HTTP face of the stand-in: Bot API, file downloads, the user-side sandbox API and the chat page. */
export function createStandInServer(core: StandInCore, page: ChatPageOptions = {}): Server {
  const held = new Set<ServerResponse>();
  const chatPage = createChatPageRoutes(core, page);
  const server = createServer((req, res) => {
    if (chatPage(req, res)) return;
    handle(core, req, res, held).catch(() => {
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
      else res.destroy();
    });
  });
  // Injected hangs never answer; closing the stand-in must still end them.
  server.on('close', () => {
    for (const res of held) res.destroy();
  });
  return server;
}

async function handle(
  core: StandInCore,
  req: IncomingMessage,
  res: ServerResponse,
  held: Set<ServerResponse>,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  if (url.pathname.startsWith('/_sandbox/')) {
    await handleSandboxRequest(core, req, res, url);
    return;
  }
  const file = filePath.exec(url.pathname);
  if (file && req.method === 'GET') {
    const stored = core.findFile(decodeURIComponent(file[1]!), decodeURIComponent(file[2]!));
    if (!stored) {
      sendJson(res, 404, notFound().toEnvelope());
      return;
    }
    res.writeHead(200, { 'content-type': stored.mimeType, 'content-length': stored.content.length });
    res.end(stored.content);
    return;
  }
  const api = botApiPath.exec(url.pathname);
  if (!api || (req.method !== 'GET' && req.method !== 'POST')) {
    sendJson(res, 404, notFound().toEnvelope());
    return;
  }
  const token = decodeURIComponent(api[1]!);
  const method = api[2]!;
  let params: ReturnType<typeof parseParams>;
  try {
    params = parseParams(req.headers['content-type'], await readBody(req), url.searchParams);
  } catch (error) {
    const apiError =
      error instanceof BotApiError ? error : new BotApiError(400, 'Bad Request: invalid request');
    sendJson(res, apiError.errorCode, apiError.toEnvelope());
    return;
  }
  const botId = Number(token.split(':')[0]);
  core.onCall?.({ botId, method, phase: 'received', data: params.toLog(), at: performance.now() });
  const hangUp = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) hangUp.abort();
    held.delete(res);
  });
  const outcome = await core.call(token, method, params, hangUp.signal);
  if (outcome.kind === 'hang') {
    held.add(res);
    return;
  }
  if (res.destroyed) return;
  sendJson(res, outcome.status, outcome.body, outcome.headers);
  core.onCall?.({ botId, method, phase: 'answered', data: outcome.body.result, at: performance.now() });
}
