import type { SetMember } from '../../deploys/deploy-control.js';
import { escapeHtml } from '../html.js';

/** The services of a set in order, with their replica counts. */
export function servicesOf(members: readonly SetMember[]): Array<{ service: string; replicas: number }> {
  const out: Array<{ service: string; replicas: number }> = [];
  for (const m of members) {
    const same = out.find((s) => s.service === m.service);
    if (same) same.replicas = Math.max(same.replicas, m.replica);
    else out.push({ service: m.service, replicas: m.replica });
  }
  return out;
}

/** `worker, app ×2, web`: a set's services as people read them (HTML). */
export function setText(members: readonly SetMember[]): string {
  return servicesOf(members)
    .map((s) => `${escapeHtml(s.service)}${s.replicas > 1 ? ` ×${s.replicas}` : ''}`)
    .join(', ');
}

/** Whether an environment runs a set: a container besides its app container. */
export const runsSet = (members: readonly SetMember[]): boolean => members.length > 1;

export type MemberChoice =
  | { readonly ok: true; readonly member: SetMember }
  | { readonly ok: false; readonly why: 'service' | 'replica'; readonly replicas?: number };

/** The container of `service` (and `replica`, the first by default) in a set. */
export function chooseMember(members: readonly SetMember[], service: string, replica?: number): MemberChoice {
  const of = members.filter((m) => m.service === service);
  if (of.length === 0) return { ok: false, why: 'service' };
  const member = of.find((m) => m.replica === (replica ?? 1)) ?? (replica === undefined ? of[0] : undefined);
  return member ? { ok: true, member } : { ok: false, why: 'replica', replicas: of.length };
}
