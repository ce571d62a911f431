import { describe, expect, it } from 'vitest';
import { renderNotice } from '../../../src/bot/promotion/notice-text.js';
import type { PromotionNotice } from '../../../src/promotion/notices.js';
import type { Promotion } from '../../../src/store/promotions.js';

const handedOver = (tagFailed: Extract<PromotionNotice, { kind: 'handed over' }>['tagFailed']): string =>
  renderNotice({
    kind: 'handed over',
    promotion: {
      id: 7,
      chatId: 1001,
      prNumber: 12,
      prUrl: 'https://github.example/acme/app/pull/12',
    } as Promotion,
    mergeSha: 'abcdef1234567890abcdef1234567890abcdef12',
    deploymentId: 99,
    tagFailed,
  });

describe('the release tag in the handed-over notice', () => {
  it('says why a tag that exists already was not reused, and that the deploy goes ahead', () => {
    const text = handedOver({
      reason:
        'tag v1.2.2 exists already, on commit 1234567: lugh never moves or reuses a tag, so no release was made for abcdef1.',
    });
    expect(text).toContain(
      '⚠️ The release tag could not be created (tag v1.2.2 exists already, on commit 1234567: lugh never moves or reuses a tag',
    );
    expect(text).toContain('the deploy goes ahead');
  });

  it('names the permission the token lacks when GitHub refused the release', () => {
    const text = handedOver({
      problem: {
        kind: 'access denied',
        missing: { permission: 'contents', label: 'Contents', access: 'write' },
      },
    });
    expect(text).toContain(
      'it lacks the Contents permission. Give GITHUB_TOKEN (or its GitHub App) “Contents: read and write”',
    );
  });
});

describe('the handed-over notice', () => {
  it('links production’s deployments on GitHub instead of a raw “GitHub deployment 99”', () => {
    const text = handedOver(undefined);
    expect(text).not.toContain('GitHub deployment 99');
    expect(text).toContain(
      'Production deploy handed over (<a href="https://github.example/acme/app/deployments/production">on GitHub</a>)',
    );
  });
});
