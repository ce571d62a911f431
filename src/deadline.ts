export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/**
 * Settles as `work` does, or rejects with a DeadlineError after `ms`. The work itself is
 * not cancelled: callers use this where waiting longer is worse than leaving it behind.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what = 'no answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
