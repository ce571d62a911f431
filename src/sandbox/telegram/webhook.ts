import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BotState } from './state.js';

/** Backoff between failed deliveries: short, so tests that provoke retries stay fast. */
const firstRetryMs = 50;
const maxRetryMs = 1000;

/**
 * How long a delivery may wait for the webhook's answer. The real server treats a request
 * that gets no answer in time like a non-2xx answer: it records "Read timeout expired" as
 * getWebhookInfo's last_error_message and sends the same update (same update_id) again
 * ("we will repeat the request and give up after a reasonable amount of attempts",
 * core.telegram.org/bots/api#setwebhook; grammY's guide, "Ending Webhook Requests in Time",
 * grammy.dev/guide/deployment-types). Telegram does not publish the limit; 10 s is
 * grammY's own `webhookCallback` deadline, so a handler slower than that fails either way.
 */
export const webhookTimeoutMs = 10_000;

/** One attempt to deliver an update: what a test reads to see timeouts and redeliveries. */
export interface WebhookAttempt {
  readonly updateId: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** A bot's answer in the webhook response body, which the real server executes. */
export type WebhookReplyHandler = (bot: BotState, method: string, params: Record<string, unknown>) => void;

/**
 * Delivers a bot's updates to its webhook one at a time, in order, retrying with backoff
 * until the endpoint answers 2xx, like the real server.
 */
export class WebhookDelivery {
  private running = false;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private inFlight: (() => void) | undefined;
  private readonly attemptLog: WebhookAttempt[] = [];

  constructor(
    private readonly bot: BotState,
    private readonly onReply: WebhookReplyHandler,
    private readonly timeoutMs = webhookTimeoutMs,
  ) {}

  /** Every delivery attempt so far, oldest first. */
  attempts(): WebhookAttempt[] {
    return this.attemptLog.map((attempt) => ({ ...attempt }));
  }

  /** Starts delivering if a webhook is set and updates are waiting. */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  /** Stops for good: aborts the delivery in flight and any backoff wait. */
  stop(): void {
    this.stopped = true;
    this.inFlight?.();
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    let backoff = firstRetryMs;
    while (!this.stopped) {
      const webhook = this.bot.webhook;
      const [update] = this.bot.updates.pending(1);
      if (!webhook || !update) return;
      const outcome = await this.post(webhook.url, webhook.secretToken, JSON.stringify(update));
      if (this.stopped) return;
      this.attemptLog.push(
        outcome.ok
          ? { updateId: update.update_id, ok: true }
          : { updateId: update.update_id, ok: false, error: outcome.error },
      );
      if (outcome.ok) {
        this.bot.updates.confirm(update.update_id + 1);
        backoff = firstRetryMs;
        if (outcome.reply) this.runReply(outcome.reply);
        continue;
      }
      webhook.lastErrorDate = Math.floor(this.bot.now() / 1000);
      webhook.lastErrorMessage = outcome.error;
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, maxRetryMs);
    }
  }

  private runReply(body: string): void {
    let reply: unknown;
    try {
      reply = JSON.parse(body);
    } catch {
      return;
    }
    if (typeof reply !== 'object' || reply === null) return;
    const { method, ...params } = reply as Record<string, unknown>;
    if (typeof method === 'string') this.onReply(this.bot, method, params);
  }

  private post(
    url: string,
    secretToken: string | undefined,
    body: string,
  ): Promise<{ ok: true; reply: string } | { ok: false; error: string }> {
    return new Promise((resolve) => {
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      };
      if (secretToken) headers['x-telegram-bot-api-secret-token'] = secretToken;
      const req = send(target, { method: 'POST', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => resolve({ ok: false, error: 'Connection reset by peer' }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300)
            resolve({ ok: true, reply: Buffer.concat(chunks).toString('utf8') });
          else
            resolve({
              ok: false,
              error: `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim(),
            });
        });
      });
      this.inFlight = () => req.destroy();
      // The whole answer must arrive in time, not just some bytes of it.
      const deadline = setTimeout(() => req.destroy(new Error('timeout')), this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ ok: false, error: describeNetworkError(error) }),
      );
      req.on('close', () => {
        clearTimeout(deadline);
        this.inFlight = undefined;
      });
      req.end(body);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

/** The real server's wording for the usual ways a webhook is unreachable. */
function describeNetworkError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return 'Connection refused';
  if (error.code === 'ENOTFOUND') return 'Failed to resolve host: Name or service not known';
  if (error.message === 'timeout') return 'Read timeout expired';
  return `Connection error: ${error.message}`;
}
