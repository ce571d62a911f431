import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import type { Logger } from '../../src/logger.js';

/**
 * lugh's HTTP server with only its GitHub webhook route wired (health and version
 * answer fixed values), listening on a free port: `url` is its /webhooks/github.
 */
export async function startGitHubWebhookServer(
  logger: Logger,
  githubWebhook: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: HttpServer; url: string }> {
  const server = createHttpServer({
    logger,
    health: async () => ({ status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' }),
    version: () => ({
      env: 'staging',
      version: '0',
      gitSha: null,
      buildTime: null,
      startedAt: '',
      uptimeSeconds: 0,
    }),
    githubWebhook,
  });
  const port = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}/webhooks/github` };
}
