import { createHmac, randomUUID } from 'node:crypto';

/**
 * A repository webhook's `config.content_type`. GitHub's default is `form`
 * (`application/x-www-form-urlencoded`, the JSON in a `payload=` field); `json` sends the
 * JSON itself. Either way the signature is over the body exactly as sent.
 */
export type WebhookContentType = 'form' | 'json';

export interface WebhookTarget {
  readonly url: string;
  readonly secret: string;
  /** Default `form`, as a hook created on GitHub without choosing one. */
  readonly contentType?: WebhookContentType;
  /** The events the hook subscribes to; default every event (`*`). */
  readonly events?: readonly string[];
}

/** One repository webhook, as `GET /repos/{owner}/{repo}/hooks` lists it. */
export interface HookRecord {
  readonly id: number;
  url: string;
  secret: string;
  contentType: WebhookContentType;
  events: readonly string[];
  active: boolean;
  readonly createdAt: string;
  updatedAt: string;
  /** The answer to its last delivery (GitHub's `last_response`). */
  lastResponse: { code: number | null; status: string; message: string | null };
}

export interface DeliveryRecord {
  /** The event's GUID (`X-GitHub-Delivery`), kept by a redelivery. */
  readonly id: string;
  /** This attempt's own number, as the hook's deliveries list it. */
  readonly deliveryId: number;
  readonly hookId: number;
  readonly event: string;
  readonly payload: unknown;
  /** The receiver's HTTP status, an error message when it could not be reached, or null while in flight. */
  status: number | string | null;
  readonly redelivery: boolean;
  deliveredAt: string | null;
  durationSeconds: number;
}

interface StoredDelivery {
  readonly record: DeliveryRecord;
  readonly body: string;
  readonly contentType: WebhookContentType;
}

const FIRST_HOOK_ID = 512_345_678;
// GitHub gives up on a receiver after 10 seconds.
const TIMEOUT_MS = 10_000;

/** GitHub's X-Hub-Signature-256 value for a raw body. */
export function signatureFor(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The body of one delivery as GitHub sends it for the hook's content type. */
export function deliveryBody(payload: unknown, contentType: WebhookContentType): string {
  const json = JSON.stringify(payload);
  return contentType === 'json' ? json : new URLSearchParams({ payload: json }).toString();
}

const CONTENT_TYPE_HEADER: Record<WebhookContentType, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
};

/**
 * The repository's webhooks and their deliveries: one at a time, in order, signed like
 * GitHub's, in each hook's content type; never retried (GitHub doesn't): a failed delivery
 * stays failed until someone redelivers it with the same GUID.
 */
export class WebhookSender {
  private readonly stored: StoredDelivery[] = [];
  private readonly registered: HookRecord[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly closing = new AbortController();
  private nextHookId = FIRST_HOOK_ID;
  private nextDeliveryId = 0;

  constructor(
    target: WebhookTarget | undefined,
    private readonly repoId: number,
    private readonly now: () => number = Date.now,
  ) {
    if (target) this.addHook(target);
  }

  get enabled(): boolean {
    return this.registered.some((hook) => hook.active);
  }

  hooks(): HookRecord[] {
    return this.registered.map((hook) => ({ ...hook, lastResponse: { ...hook.lastResponse } }));
  }

  hook(id: number): HookRecord | undefined {
    return this.registered.find((hook) => hook.id === id);
  }

  /** A new hook, as `POST /repos/{owner}/{repo}/hooks` makes it. */
  addHook(target: WebhookTarget): HookRecord {
    const at = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const hook: HookRecord = {
      id: this.nextHookId,
      url: target.url,
      secret: target.secret,
      contentType: target.contentType ?? 'form',
      events: target.events ?? ['*'],
      active: true,
      createdAt: at,
      updatedAt: at,
      lastResponse: { code: null, status: 'unused', message: null },
    };
    this.nextHookId += 1;
    this.registered.push(hook);
    return hook;
  }

  /**
   * Points the first hook at another receiver (a hook whose URL was edited), keeping its
   * content type unless one is given; undefined removes it.
   */
  retarget(target: WebhookTarget | undefined): void {
    const first = this.registered[0];
    if (!target) {
      if (first) this.registered.splice(0, 1);
      return;
    }
    if (!first) {
      this.addHook(target);
      return;
    }
    first.url = target.url;
    first.secret = target.secret;
    if (target.contentType) first.contentType = target.contentType;
    if (target.events) first.events = target.events;
  }

  /**
   * Queues one delivery of `event` to every active hook that subscribes to it, or only to
   * hook `onlyHook` (a new hook's ping).
   */
  send(event: string, payload: unknown, onlyHook?: number): void {
    const guid = randomUUID();
    for (const hook of this.registered) {
      if (onlyHook !== undefined && hook.id !== onlyHook) continue;
      const subscribed = event === 'ping' || hook.events.includes('*') || hook.events.includes(event);
      if (!hook.active || !subscribed) continue;
      const body = deliveryBody(payload, hook.contentType);
      const record = this.newRecord(guid, hook.id, event, payload, false);
      this.stored.push({ record, body, contentType: hook.contentType });
      this.enqueue(record, body, hook.contentType);
    }
  }

  /** Sends a stored delivery again, same GUID and body, and resolves once it was attempted. */
  async redeliver(id: string): Promise<void> {
    const original = this.stored.find((d) => d.record.id === id);
    if (!original) throw new Error(`redeliver: no delivery ${id}`);
    const { hookId, event, payload } = original.record;
    const record = this.newRecord(id, hookId, event, payload, true);
    this.stored.push({ record, body: original.body, contentType: original.contentType });
    await this.enqueue(record, original.body, original.contentType);
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

  private newRecord(
    guid: string,
    hookId: number,
    event: string,
    payload: unknown,
    redelivery: boolean,
  ): DeliveryRecord {
    this.nextDeliveryId += 1;
    return {
      id: guid,
      deliveryId: 31_000_000_000 + this.nextDeliveryId,
      hookId,
      event,
      payload,
      status: null,
      redelivery,
      deliveredAt: null,
      durationSeconds: 0,
    };
  }

  private enqueue(record: DeliveryRecord, body: string, contentType: WebhookContentType): Promise<void> {
    const attempt = this.queue.then(() => this.post(record, body, contentType));
    this.queue = attempt;
    return attempt;
  }

  private async post(record: DeliveryRecord, body: string, contentType: WebhookContentType): Promise<void> {
    const hook = this.hook(record.hookId);
    if (!hook) {
      record.status = 'hook removed';
      return;
    }
    if (this.closing.signal.aborted) {
      record.status = 'stand-in closed';
      return;
    }
    const started = this.now();
    record.deliveredAt = new Date(started).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(TIMEOUT_MS)]),
        headers: {
          'content-type': CONTENT_TYPE_HEADER[contentType],
          'user-agent': 'GitHub-Hookshot/6f0c3e1',
          'x-github-event': record.event,
          'x-github-delivery': record.id,
          'x-github-hook-id': String(hook.id),
          'x-github-hook-installation-target-id': String(this.repoId),
          'x-github-hook-installation-target-type': 'repository',
          'x-hub-signature': `sha1=${createHmac('sha1', hook.secret).update(body).digest('hex')}`,
          'x-hub-signature-256': signatureFor(hook.secret, body),
        },
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
      hook.lastResponse = {
        code: response.status,
        status: response.ok ? 'active' : 'failed',
        message: response.ok ? 'OK' : `Invalid HTTP Response: ${response.status}`,
      };
    } catch (error) {
      record.status = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      hook.lastResponse = { code: null, status: 'failed', message: 'failed to connect to host' };
    }
    record.durationSeconds = Math.max(0, (this.now() - started) / 1000);
  }
}
