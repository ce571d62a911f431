import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyGitHubSignature } from '../forge/github/webhook-signature.js';
import type { Logger } from '../logger.js';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface GitHubDelivery {
  readonly id: string;
  readonly event: string;
  readonly payload: unknown;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ message }));
}

/**
 * POST /webhooks/github: checks `X-Hub-Signature-256` against the raw body, then hands
 * the delivery on. Whether a delivery id was seen before is the receiver's to decide.
 */
export function githubWebhookHandler(
  secret: string,
  logger: Logger,
  deliver: (delivery: GitHubDelivery) => Promise<'handled' | 'duplicate'>,
) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    if (!body) return reply(res, 413, 'payload too large');
    const signature = req.headers['x-hub-signature-256'];
    if (!verifyGitHubSignature(secret, body, typeof signature === 'string' ? signature : undefined)) {
      logger.warn(
        { delivery: req.headers['x-github-delivery'] },
        'refused a GitHub webhook with a bad signature',
      );
      return reply(res, 401, 'bad signature');
    }
    const id = req.headers['x-github-delivery'];
    const event = req.headers['x-github-event'];
    if (typeof id !== 'string' || typeof event !== 'string')
      return reply(res, 400, 'missing X-GitHub-Delivery or X-GitHub-Event');
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return reply(res, 400, 'body is not JSON');
    }
    const outcome = await deliver({ id, event, payload });
    reply(res, outcome === 'duplicate' ? 200 : 202, outcome);
  };
}
