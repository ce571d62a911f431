/**
 * A failure to inject into matching Bot API calls; with `chatId`, only into calls whose
 * `chat_id` names that chat (a reply held up while the bot's other messages go through).
 */
export type FaultSpec = { token?: string; method: string; chatId?: number; times?: number } & (
  | { kind: '429'; retryAfter: number }
  | { kind: '5xx'; status?: number }
  | { kind: 'hang' }
);

interface ArmedFault {
  spec: FaultSpec;
  remaining: number;
}

/** Injected faults, consumed in the order they were armed; each fires `times` (default 1) times. */
export class FaultRegistry {
  private readonly faults: ArmedFault[] = [];

  add(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error(`injectFault: times must be a positive integer`);
    if (spec.kind === '5xx' && spec.status !== undefined && (spec.status < 500 || spec.status > 599)) {
      throw new Error(`injectFault: status ${spec.status} is not a 5xx status`);
    }
    this.faults.push({ spec, remaining: times });
  }

  /** The fault for this call, if one is armed; method names match case-insensitively. */
  take(token: string, method: string, chatId?: number): FaultSpec | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        fault.spec.method.toLowerCase() === method.toLowerCase() &&
        (fault.spec.token === undefined || fault.spec.token === token) &&
        (fault.spec.chatId === undefined || fault.spec.chatId === chatId),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults.splice(index, 1);
    return fault.spec;
  }
}
