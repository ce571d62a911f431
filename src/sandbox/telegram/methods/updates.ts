// How the bot receives updates: getUpdates, or a webhook (setWebhook, deleteWebhook, getWebhookInfo).
import { badRequest, webhookConflict } from '../errors.js';
import { DescribedResult, type MethodContext, type MethodHandler } from './context.js';

const webhookPorts = new Set(['', '80', '88', '443', '8443']);
const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The real server takes only HTTPS webhooks on ports 443, 80, 88 or 8443 (Bot API,
 * setWebhook: "Ports currently supported for webhooks: 443, 80, 88, 8443"). A loopback
 * URL is allowed as a local Bot API server in `--local` mode allows it (any scheme, any
 * port): the only way tests can receive webhooks.
 */
function webhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
  }
  if (loopback.has(url.hostname)) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw badRequest('bad webhook: HTTPS url must be provided for webhook');
    }
    return url.toString();
  }
  if (url.protocol !== 'https:') throw badRequest('bad webhook: HTTPS url must be provided for webhook');
  if (!webhookPorts.has(url.port)) {
    throw badRequest('bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443');
  }
  return url.toString();
}

function readAllowedUpdates(ctx: MethodContext): string[] | undefined {
  const value = ctx.params.json('allowed_updates');
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw badRequest("can't parse allowed_updates JSON array");
  }
  return value as string[];
}

const deleteWebhook: MethodHandler = (ctx) => {
  const had = ctx.bot.webhook !== undefined;
  ctx.bot.webhook = undefined;
  if (ctx.params.bool('drop_pending_updates')) ctx.bot.updates.clear();
  return new DescribedResult(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
};

export const updateMethods: Record<string, MethodHandler> = {
  getUpdates: (ctx) => {
    if (ctx.bot.webhook) throw webhookConflict();
    const limit = Math.min(100, Math.max(1, ctx.params.int('limit') ?? 100));
    return ctx.bot.updates.poll(
      {
        offset: ctx.params.int('offset'),
        limit,
        timeoutSeconds: Math.max(0, ctx.params.int('timeout') ?? 0),
        allowedUpdates: readAllowedUpdates(ctx),
      },
      ctx.signal,
    );
  },

  setWebhook: (ctx) => {
    const raw = ctx.params.string('url') ?? '';
    if (raw === '') return deleteWebhook(ctx);
    const url = webhookUrl(raw);
    const secretToken = ctx.params.string('secret_token');
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
      throw badRequest('secret token contains unallowed characters');
    }
    const maxConnections = ctx.params.int('max_connections') ?? 40;
    const allowed = readAllowedUpdates(ctx);
    if (allowed !== undefined) ctx.bot.updates.allowedUpdates = allowed;
    if (ctx.params.bool('drop_pending_updates')) ctx.bot.updates.clear();
    const same = ctx.bot.webhook?.url === url;
    ctx.bot.webhook = { url, secretToken, maxConnections: Math.min(100, Math.max(1, maxConnections)) };
    ctx.bot.updates.releaseHeld(webhookConflict());
    ctx.kickWebhook();
    return new DescribedResult(true, same ? 'Webhook is already set' : 'Webhook was set');
  },

  deleteWebhook,

  getWebhookInfo: (ctx) => {
    const webhook = ctx.bot.webhook;
    return {
      url: webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: ctx.bot.updates.size,
      ...(webhook
        ? {
            max_connections: webhook.maxConnections,
            ip_address: '127.0.0.1',
            ...(webhook.lastErrorDate !== undefined
              ? { last_error_date: webhook.lastErrorDate, last_error_message: webhook.lastErrorMessage }
              : {}),
            ...(ctx.bot.updates.allowedUpdates ? { allowed_updates: ctx.bot.updates.allowedUpdates } : {}),
          }
        : {}),
    };
  },
};
