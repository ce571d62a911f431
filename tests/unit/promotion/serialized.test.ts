import { afterEach, describe, expect, it } from 'vitest';
import { createPromotionParts, type PromotionServiceDeps } from '../../../src/promotion/parts.js';
import { silentLogger } from '../../helpers/logger.js';

describe('a promotion’s serialized work', () => {
  const stray: unknown[] = [];
  const onRejection = (reason: unknown) => stray.push(reason);
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
  });

  it('that fails rejects to its caller only: no second, unhandled rejection', async () => {
    process.on('unhandledRejection', onRejection);
    const parts = createPromotionParts(
      { logger: silentLogger } as unknown as PromotionServiceDeps,
      async () => {},
    );
    await expect(
      parts.serialized(7, async () => {
        throw new Error('the decision failed');
      }),
    ).rejects.toThrow('the decision failed');
    // Unhandled rejections are reported after the microtasks run out.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stray).toEqual([]);
    expect(parts.busy(7)).toBe(false);
  });
});
