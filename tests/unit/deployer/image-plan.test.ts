import { describe, expect, it } from 'vitest';
import { imageTags, orphanTags, planImageRetention } from '../../../src/deployer/image-plan.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('image plans', () => {
  it('tags a commit per environment and once for every environment', () => {
    expect(imageTags('lugh', 'production', SHA)).toEqual({
      tag: 'lugh:production-0123456789ab',
      shaTag: 'lugh:sha-0123456789ab',
    });
  });

  it('keeps the newest images, counting the ones in use; the others lose only this environment’s tags', () => {
    const images = [
      { Id: 'old', Created: 1, RepoTags: ['lugh:staging-1', 'lugh:sha-1', 'lugh:production-1'] },
      { Id: 'newest', Created: 5, RepoTags: ['lugh:staging-5'] },
      { Id: 'previous', Created: 2, RepoTags: ['lugh:staging-2', 'lugh:sha-2'] },
      { Id: 'middle', Created: 4, RepoTags: ['lugh:staging-4'] },
      { Id: 'third', Created: 3, RepoTags: null },
    ];
    expect(planImageRetention('lugh', 'staging', images, 2, ['previous'])).toEqual([
      { id: 'third', untag: [] },
      { id: 'old', untag: ['lugh:staging-1'] },
    ]);
    expect(planImageRetention('lugh', 'staging', images, 5, [])).toEqual([]);
  });

  it('an image no environment runs loses its shared tag too; one another environment runs keeps it', () => {
    expect(orphanTags('lugh', ['lugh:sha-1'])).toEqual(['lugh:sha-1']);
    expect(orphanTags('lugh', ['lugh:sha-1', 'lugh:production-1'])).toEqual([]);
    expect(orphanTags('lugh', [])).toEqual([]);
  });
});
