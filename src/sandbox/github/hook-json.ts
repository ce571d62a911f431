import { repoApiUrl, type Site } from './site.js';
import type { DeliveryRecord, HookRecord } from './webhook-sender.js';

/** hook: a repository webhook, its secret masked as GitHub masks it. */
export function hookJson(site: Site, hook: HookRecord) {
  const url = `${repoApiUrl(site)}/hooks/${hook.id}`;
  return {
    type: 'Repository',
    id: hook.id,
    name: 'web',
    active: hook.active,
    events: [...hook.events],
    config: {
      content_type: hook.contentType,
      insecure_ssl: '0',
      url: hook.url,
      ...(hook.secret ? { secret: '********' } : {}),
    },
    updated_at: hook.updatedAt,
    created_at: hook.createdAt,
    url,
    test_url: `${url}/test`,
    ping_url: `${url}/pings`,
    deliveries_url: `${url}/deliveries`,
    last_response: { ...hook.lastResponse },
  };
}

/** GitHub's words for a delivery's outcome, e.g. "OK" or "Invalid HTTP Response: 400". */
function deliveryStatus(status: DeliveryRecord['status']): { status: string; code: number } {
  if (status === null) return { status: 'pending', code: 0 };
  if (typeof status === 'string') return { status: 'failed to connect to host', code: 0 };
  return { status: status >= 200 && status < 300 ? 'OK' : `Invalid HTTP Response: ${status}`, code: status };
}

/** hook-delivery-item */
export function hookDeliveryItemJson(site: Site, delivery: DeliveryRecord) {
  const { status, code } = deliveryStatus(delivery.status);
  const action = (delivery.payload as { action?: unknown } | null)?.action;
  return {
    id: delivery.deliveryId,
    guid: delivery.id,
    delivered_at: delivery.deliveredAt ?? site.createdAt,
    redelivery: delivery.redelivery,
    duration: delivery.durationSeconds,
    status,
    status_code: code,
    event: delivery.event,
    action: typeof action === 'string' ? action : null,
    installation_id: null,
    repository_id: site.repoId,
    throttled_at: null,
  };
}
