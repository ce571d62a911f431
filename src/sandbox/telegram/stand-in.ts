import type { AddressInfo } from 'node:net';
import { BotApiError, notFound, serverError, tooManyRequests, unauthorized } from './errors.js';
import { FaultRegistry, type FaultSpec } from './faults.js';
import { DescribedResult, methods } from './methods.js';
import { Params } from './params.js';
import { RateLimiter } from './rate-limit.js';
import { createStandInServer } from './server.js';
import type {
  CallEvent,
  CallOutcome,
  CallRecord,
  TelegramStandIn,
  TelegramStandInOptions,
  WaitOptions,
} from './stand-in-api.js';
import { BotState } from './state.js';
import { copyEntry, describeTranscript, type TranscriptEntry } from './transcript.js';
import type { BotUser, Message, SandboxUser } from './types.js';
import {
  blockBotByUser,
  deleteMessageByUser,
  migrateGroup,
  type PressButtonInput,
  pressInlineButton,
  SandboxUsageError,
  type SendTextInput,
  sendUserText,
  UnknownBotError,
} from './user-side.js';
import { type WebhookAttempt, WebhookDelivery } from './webhook.js';

export type * from './stand-in-api.js';

/** `123:secret` → `123:***`, so logs and answers never carry a usable token. */
export function maskToken(token: string): string {
  const colon = token.indexOf(':');
  return colon === -1 ? '***' : `${token.slice(0, colon)}:***`;
}

/** The stand-in's state and the operations shared by the programmatic and HTTP sides. */
export class StandInCore {
  private readonly bots = new Map<string, BotState>();
  private readonly deliveries = new Map<string, WebhookDelivery>();
  private readonly faults = new FaultRegistry();
  private readonly callLog: Array<CallRecord & { rawToken: string }> = [];
  private readonly waits = new Set<(error: Error) => void>();
  private readonly changeListeners = new Set<(bot: BotState) => void>();
  private readonly rateLimiter: RateLimiter | undefined;
  closed = false;

  constructor(
    readonly now: () => number,
    rateLimits: boolean,
    private readonly webhookTimeoutMs?: number,
    readonly onCall?: (event: CallEvent) => void,
  ) {
    this.rateLimiter = rateLimits ? new RateLimiter(now) : undefined;
  }

  registerBot(input: { token: string; username: string; firstName: string }): BotUser {
    const match = /^(\d+):[A-Za-z0-9_-]+$/.exec(input.token);
    if (!match) throw new SandboxUsageError('registerBot: a token looks like 123456:ABC-def_ghi');
    if (this.bots.has(input.token))
      throw new SandboxUsageError(`registerBot: bot ${maskToken(input.token)} exists`);
    const id = Number(match[1]);
    // Assigned before the state exists: the state's update callback needs the delivery.
    let delivery: WebhookDelivery | undefined;
    const bot = new BotState(
      input.token,
      { id, username: input.username, firstName: input.firstName },
      this.now,
      () => delivery?.kick(),
    );
    delivery = new WebhookDelivery(
      bot,
      (target, method, params) => {
        void this.call(target.token, method, new Params(params), new AbortController().signal);
      },
      this.webhookTimeoutMs,
    );
    this.bots.set(input.token, bot);
    this.deliveries.set(input.token, delivery);
    return structuredClone(bot.user);
  }

  /** The bot for a token, or a usage error naming only its id. */
  bot(token: string): BotState {
    const bot = this.bots.get(token);
    if (!bot) throw new UnknownBotError(`no bot registered with token ${maskToken(String(token))}`);
    return bot;
  }

  findFile(token: string, filePath: string) {
    const bot = this.bots.get(token);
    return bot ? [...bot.files.values()].find((file) => file.filePath === filePath) : undefined;
  }

  /** Registered bots, oldest first. */
  registeredBots(): BotState[] {
    return [...this.bots.values()];
  }

  /** The bot with this username (case-insensitive): how the web page names a bot without its token. */
  botByUsername(username: string): BotState {
    const wanted = String(username).replace(/^@/, '').toLowerCase();
    const found = [...this.bots.values()].filter((bot) => bot.user.username.toLowerCase() === wanted);
    if (found.length > 1) throw new SandboxUsageError(`more than one bot is registered as @${wanted}`);
    if (!found[0]) throw new UnknownBotError(`no bot registered as @${wanted}`);
    return found[0];
  }

  /** Calls `listener` after anything may have changed a bot's chats; returns the unsubscribe. */
  onChange(listener: (bot: BotState) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(token: string): void {
    const bot = this.bots.get(token);
    if (!bot) return;
    for (const listener of [...this.changeListeners]) {
      try {
        listener(bot);
      } catch {
        // A watcher's failure (a page that went away, say) must not fail the bot's call.
      }
    }
  }

  /** Runs one Bot API call as the real server would answer it. */
  async call(token: string, method: string, params: Params, signal: AbortSignal): Promise<CallOutcome> {
    try {
      return await this.answer(token, method, params, signal);
    } finally {
      this.changed(token);
    }
  }

  private async answer(
    token: string,
    method: string,
    params: Params,
    signal: AbortSignal,
  ): Promise<CallOutcome> {
    this.callLog.push({
      rawToken: token,
      token: maskToken(token),
      method,
      params: params.toLog(),
      at: this.now(),
    });
    try {
      const bot = this.bots.get(token);
      if (!bot) throw unauthorized();
      const handler = methods.get(method.toLowerCase());
      if (!handler) throw notFound();
      const chatId = Number(params.toLog().chat_id);
      const fault = this.faults.take(token, method, Number.isInteger(chatId) ? chatId : undefined);
      if (fault?.kind === 'hang') return { kind: 'hang' };
      if (fault?.kind === '429') throw tooManyRequests(fault.retryAfter);
      if (fault?.kind === '5xx') throw serverError(fault.status ?? 500);
      const result = await handler({
        bot,
        params,
        signal,
        now: this.now,
        kickWebhook: () => this.deliveries.get(token)?.kick(),
        rateLimiter: this.rateLimiter,
      });
      const body =
        result instanceof DescribedResult
          ? { ok: true, result: result.result, description: result.description }
          : { ok: true, result };
      return { kind: 'answer', status: 200, body, headers: {} };
    } catch (error) {
      const apiError = error instanceof BotApiError ? error : serverError(500);
      const headers: Record<string, string> = {};
      if (apiError.parameters?.retry_after !== undefined) {
        headers['retry-after'] = String(apiError.parameters.retry_after);
      }
      return { kind: 'answer', status: apiError.errorCode, body: apiError.toEnvelope(), headers };
    }
  }

  calls(token?: string): CallRecord[] {
    return this.callLog
      .filter((call) => token === undefined || call.rawToken === token)
      .map(({ rawToken: _raw, ...call }) => structuredClone(call));
  }

  injectFault(fault: FaultSpec): void {
    if (fault.token !== undefined) this.bot(fault.token);
    this.faults.add(fault);
  }

  sendText(input: SendTextInput): Message {
    const message = sendUserText(this.bot(input.token), input);
    this.changed(input.token);
    return message;
  }

  pressButton(input: PressButtonInput): string {
    const id = pressInlineButton(this.bot(input.token), input);
    this.changed(input.token);
    return id;
  }

  blockBot(token: string, userId: number): void {
    blockBotByUser(this.bot(token), userId);
  }

  deleteMessage(token: string, chatId: number, messageId: number): void {
    deleteMessageByUser(this.bot(token), chatId, messageId);
    this.changed(token);
  }

  migrateGroup(token: string, groupId: number, from: SandboxUser): number {
    const newId = migrateGroup(this.bot(token), groupId, from);
    this.changed(token);
    return newId;
  }

  injectUpdate(token: string, update: Record<string, unknown>): void {
    const bot = this.bot(token);
    // A callback query can be answered, as a real one can.
    const query = update.callback_query as { id?: string; message?: { chat?: { id?: number } } } | undefined;
    if (query?.id)
      bot.callbackQueries.set(query.id, {
        chatId: query.message?.chat?.id ?? 0,
        createdAt: bot.now(),
        answered: false,
      });
    bot.updates.push(structuredClone(update) as Parameters<BotState['updates']['push']>[0]);
    this.changed(token);
  }

  webhookDeliveries(token: string): WebhookAttempt[] {
    this.bot(token);
    return this.deliveries.get(token)?.attempts() ?? [];
  }

  transcript(token: string, chatId: number): TranscriptEntry[] {
    return (this.bot(token).chats.get(chatId)?.transcript ?? []).map(copyEntry);
  }

  waitForBotMessage(
    token: string,
    chatId: number,
    predicate: (message: Message) => boolean,
    options: WaitOptions = {},
  ): Promise<Message> {
    const bot = this.bot(token);
    const timeoutMs = options.timeoutMs ?? 5000;
    const matches = (message: Message): boolean => {
      try {
        return predicate(structuredClone(message));
      } catch {
        // A predicate that trips over another kind of message (no text, say) did not match it.
        return false;
      }
    };
    const existing = bot.chats.get(chatId)?.botMessages().reverse().find(matches);
    if (existing) return Promise.resolve(structuredClone(existing));
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, message?: Message): void => {
        clearTimeout(timer);
        unsubscribe();
        this.waits.delete(fail);
        if (error) reject(error);
        else resolve(structuredClone(message!));
      };
      const fail = (error: Error): void => finish(error);
      const unsubscribe = bot.onBotMessage((id, message) => {
        if (id === chatId && matches(message)) finish(undefined, message);
      });
      const timer = setTimeout(() => {
        const transcript = describeTranscript(this.transcript(token, chatId));
        finish(
          new Error(
            `waitForBotMessage: no bot message in chat ${chatId} of @${bot.user.username} matched within ${timeoutMs} ms. Transcript:\n${transcript}`,
          ),
        );
      }, timeoutMs);
      this.waits.add(fail);
    });
  }

  /** Releases everything held: long polls answer [], webhook retries stop, waiters reject. */
  shutdown(): void {
    this.closed = true;
    for (const bot of this.bots.values()) bot.updates.releaseHeld([]);
    for (const delivery of this.deliveries.values()) delivery.stop();
    for (const fail of [...this.waits])
      fail(new Error('waitForBotMessage: the Telegram stand-in was closed'));
  }
}

/** Starts the Telegram Bot API stand-in on a local port (any free one by default). */
export async function startTelegramStandIn(options: TelegramStandInOptions = {}): Promise<TelegramStandIn> {
  const core = new StandInCore(
    options.now ?? Date.now,
    options.rateLimits ?? false,
    options.webhookTimeoutMs,
    options.onCall,
  );
  const server = createStandInServer(core, { users: options.pageUsers });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const apiRoot = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;

  return {
    apiRoot,
    registerBot: (bot) => core.registerBot(bot),
    sendText: (input) => core.sendText(input),
    pressButton: (input) => core.pressButton(input),
    transcript: (token, chatId) => core.transcript(token, chatId),
    waitForBotMessage: (token, chatId, predicate, waitOptions) =>
      core.waitForBotMessage(token, chatId, predicate, waitOptions),
    injectFault: (fault) => core.injectFault(fault),
    calls: (token) => core.calls(token),
    blockBot: (token, userId) => core.blockBot(token, userId),
    deleteMessage: (token, chatId, messageId) => core.deleteMessage(token, chatId, messageId),
    migrateGroup: (token, groupId, from) => core.migrateGroup(token, groupId, from),
    injectUpdate: (token, update) => core.injectUpdate(token, update),
    webhookDeliveries: (token) => core.webhookDeliveries(token),
    close: () => {
      closing ??= (async () => {
        core.shutdown();
        // Let the released long polls write their answers before the sockets go.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
