import { createHmac, randomUUID } from 'node:crypto';

export interface WebhookTarget {
  readonly url: string;
  readonly secret: string;
}

export interface DeliveryRecord {
  readonly id: string;
  readonly event: string;
  readonly payload: unknown;
  /** The receiver's HTTP status, an error message when it could not be reached, or null while in flight. */
  status: number | string | null;
  readonly redelivery: boolean;
}

interface StoredDelivery {
  readonly record: DeliveryRecord;
  readonly body: string;
}

const HOOK_ID = 512_345_678;
// GitHub gives up on a receiver after 10 seconds.
const TIMEOUT_MS = 10_000;

/** GitHub's X-Hub-Signature-256 value for a raw body. */
export function signatureFor(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers webhooks one at a time, in order, signed like GitHub's; never retries (GitHub
 * doesn't): a failed delivery stays failed until someone redelivers it with the same id.
 */
export class WebhookSender {
  private readonly stored: StoredDelivery[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly closing = new AbortController();

  constructor(
    private target: WebhookTarget | undefined,
    private readonly repoId: number,
  ) {}

  get enabled(): boolean {
    return this.target !== undefined;
  }
  /** Points later deliveries at another receiver (a hook whose URL was edited). */
  retarget(target: WebhookTarget | undefined): void {
    this.target = target;
  }

  /** Queues one delivery of `event`. */
  send(event: string, payload: unknown): void {
    if (!this.target) return;
    const body = JSON.stringify(payload);
    const record: DeliveryRecord = { id: randomUUID(), event, payload, status: null, redelivery: false };
    this.stored.push({ record, body });
    this.enqueue(record, body);
  }

  /** Sends a stored delivery again, same id and body, and resolves once it was attempted. */
  async redeliver(id: string): Promise<void> {
    const original = this.stored.find((d) => d.record.id === id);
    if (!original) throw new Error(`redeliver: no delivery ${id}`);
    const record: DeliveryRecord = { ...original.record, status: null, redelivery: true };
    this.stored.push({ record, body: original.body });
    await this.enqueue(record, original.body);
  }

  deliveries(): DeliveryRecord[] {
    return this.stored.map(({ record }) => ({ ...record }));
  }

  /** Resolves when every queued delivery was attempted. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  close(): void {
    this.closing.abort();
  }

  private enqueue(record: DeliveryRecord, body: string): Promise<void> {
    const attempt = this.queue.then(() => this.post(record, body));
    this.queue = attempt;
    return attempt;
  }

  private async post(record: DeliveryRecord, body: string): Promise<void> {
    const target = this.target!;
    if (this.closing.signal.aborted) {
      record.status = 'stand-in closed';
      return;
    }
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(TIMEOUT_MS)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/6f0c3e1',
          'x-github-event': record.event,
          'x-github-delivery': record.id,
          'x-github-hook-id': String(HOOK_ID),
          'x-github-hook-installation-target-id': String(this.repoId),
          'x-github-hook-installation-target-type': 'repository',
          'x-hub-signature': `sha1=${createHmac('sha1', target.secret).update(body).digest('hex')}`,
          'x-hub-signature-256': signatureFor(target.secret, body),
        },
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
    } catch (error) {
      record.status = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
}
