import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyGitHubSignature } from '../forge/github/webhook-signature.js';
import type { Logger } from '../logger.js';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface GitHubDelivery {
  readonly id: string;
  readonly event: string;
  readonly payload: unknown;
}

/** What became of one delivery: what /status tells (when the last one came, whether they fail). */
export interface GitHubDeliveryOutcome {
  readonly at: Date;
  readonly event: string | null;
  /** The status lugh answered. */
  readonly status: number;
  /** Why it was refused (2xx: undefined). */
  readonly why?: string;
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

const NOT_A_PAYLOAD =
  'the body is neither JSON (content type application/json) nor a form with a payload field (application/x-www-form-urlencoded)';

/**
 * The delivery's JSON, from either content type a GitHub webhook may use: `json`, or `form`
 * (GitHub's default), whose body is `payload=<url-encoded JSON>`. Undefined when neither.
 */
export function deliveryPayload(
  contentType: string | undefined,
  body: Buffer,
): { payload: unknown } | undefined {
  const text = body.toString('utf8');
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const json = type === 'application/x-www-form-urlencoded' ? new URLSearchParams(text).get('payload') : text;
  if (json === null) return undefined;
  try {
    return { payload: JSON.parse(json) };
  } catch {
    return undefined;
  }
}

/**
 * POST /webhooks/github: checks `X-Hub-Signature-256` against the raw body (as sent, in
 * either content type), then hands the delivery on. Whether a delivery id was seen before
 * is the receiver's to decide. Every delivery's outcome, accepted or refused, goes to
 * `observe`, so that a hook that only ever fails does not go unnoticed.
 */
export function githubWebhookHandler(
  secret: string,
  logger: Logger,
  deliver: (delivery: GitHubDelivery) => Promise<'handled' | 'duplicate'>,
  observe: (outcome: GitHubDeliveryOutcome) => Promise<void> | void = () => {},
) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const event = header('x-github-event') ?? null;
    const record = async (status: number, why?: string) => {
      try {
        await observe({ at: new Date(), event, status, ...(why ? { why } : {}) });
      } catch (error) {
        logger.debug({ err: error }, 'could not record the GitHub webhook delivery');
      }
    };
    const answer = async (status: number, message: string, why?: string) => {
      reply(res, status, message);
      await record(status, why);
    };
    const refuse = (status: number, why: string) => {
      logger.warn(
        { delivery: header('x-github-delivery'), event, status },
        `refused a GitHub webhook: ${why}`,
      );
      return answer(status, why, why);
    };

    const body = await readBody(req);
    if (!body) return refuse(413, 'payload too large');
    if (!verifyGitHubSignature(secret, body, header('x-hub-signature-256'))) {
      return refuse(401, "bad signature: the hook's secret must be the one in GITHUB_WEBHOOK_SECRET");
    }
    const id = header('x-github-delivery');
    if (id === undefined || event === null) return refuse(400, 'missing X-GitHub-Delivery or X-GitHub-Event');
    const parsed = deliveryPayload(header('content-type'), body);
    if (!parsed) return refuse(400, NOT_A_PAYLOAD);
    let outcome: 'handled' | 'duplicate';
    try {
      outcome = await deliver({ id, event, payload: parsed.payload });
    } catch (error) {
      await record(500, 'lugh failed handling it (see its log)');
      throw error;
    }
    await answer(outcome === 'duplicate' ? 200 : 202, outcome);
  };
}
