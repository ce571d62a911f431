// The promotion's refusal rules and pure helpers, without any server.
import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  ForgeUnavailableError,
  NotFoundError,
  RateLimitedError,
} from '../../../src/forge/errors.js';
import type { Comparison } from '../../../src/forge/forge.js';
import {
  type AskerFacts,
  describeForgeProblem,
  forgeProblemOf,
  headShaOf,
  nextTag,
  refuseAsker,
  refuseButton,
  refuseMoment,
} from '../../../src/promotion/policy.js';
import { pullBody } from '../../../src/promotion/pull-body.js';
import type { Promotion } from '../../../src/store/promotions.js';

const ADMIN_IN_PRIVATE: AskerFacts = {
  userId: 7,
  isAdmin: true,
  chatId: 7,
  chatType: 'private',
  allowedChatIds: [-100],
  twoPersonRule: false,
  promoteFlag: true,
  forgeConfigured: true,
};

describe('who may ask for a promotion, and where', () => {
  it('lets an admin ask in a private chat or an allowed group', () => {
    expect(refuseAsker(ADMIN_IN_PRIVATE)).toBeUndefined();
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, chatId: -100, chatType: 'supergroup' })).toBeUndefined();
  });

  it('refuses, first rule first: a stranger, a group not allowed, two-person in private, the flag, no forge', () => {
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, isAdmin: false, promoteFlag: false })).toEqual({
      reason: 'not an admin',
      userId: 7,
    });
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, chatId: -5, chatType: 'group' })?.reason).toBe(
      'chat not allowed',
    );
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, twoPersonRule: true })?.reason).toBe(
      'two-person rule needs a group',
    );
    expect(
      refuseAsker({ ...ADMIN_IN_PRIVATE, twoPersonRule: true, chatId: -100, chatType: 'supergroup' }),
    ).toBeUndefined();
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, promoteFlag: false })?.reason).toBe('flag off');
    expect(refuseAsker({ ...ADMIN_IN_PRIVATE, forgeConfigured: false })?.reason).toBe(
      'github not configured',
    );
  });
});

describe('when a promotion may start', () => {
  const now = new Date('2026-11-30T10:00:00Z');
  const lock = {
    name: 'deploy:production',
    owner: 'ada',
    reason: 'db work',
    acquiredAt: now,
    expiresAt: now,
  };
  const inFlight = { id: 3, status: 'waiting_ci', prUrl: null, prNumber: null } as unknown as Promotion;

  it('refuses a promotion in flight before a held lock, and a held lock before a freeze', () => {
    expect(refuseMoment({ inFlight, lock, freeze: 'Fri 16:00–Mon 08:00', timeZone: 'UTC', now })).toEqual({
      reason: 'in flight',
      promotion: inFlight,
    });
    expect(refuseMoment({ lock, freeze: 'Fri', timeZone: 'UTC', now })).toEqual({
      reason: 'deploy lock held',
      lock,
      now,
    });
    expect(refuseMoment({ freeze: 'Fri', timeZone: 'Europe/Paris', now })).toEqual({
      reason: 'freeze window',
      freeze: 'Fri',
      timeZone: 'Europe/Paris',
    });
    expect(refuseMoment({ timeZone: 'UTC', now })).toBeUndefined();
  });
});

describe('a Yes/No press', () => {
  const now = new Date('2026-11-30T10:00:00Z');
  const later = new Date(now.getTime() + 60_000);
  const button = {
    action: 'approve' as const,
    usedAt: null,
    expiresAt: later,
    boundUserId: 7,
    notUserId: null,
  };
  const waiting = { status: 'awaiting_approval' as const };
  const admin = { id: 7, isAdmin: true };

  it('lets the requester approve a waiting promotion with a live button', () => {
    expect(refuseButton({ actor: admin, button, promotion: waiting, now })).toBeUndefined();
  });

  it('names why a press does nothing', () => {
    expect(refuseButton({ actor: { id: 7, isAdmin: false }, button, promotion: waiting, now })).toBe(
      'not an admin',
    );
    expect(refuseButton({ actor: admin, button, promotion: { status: 'merging' }, now })).toBe(
      'already confirmed',
    );
    expect(refuseButton({ actor: admin, button, promotion: { status: 'merged' }, now })).toBe(
      'already confirmed',
    );
    expect(refuseButton({ actor: admin, button, promotion: { status: 'declined' }, now })).toBe(
      'already decided',
    );
    expect(refuseButton({ actor: admin, button: { ...button, usedAt: now }, promotion: waiting, now })).toBe(
      'already decided',
    );
    expect(refuseButton({ actor: admin, button, now })).toBe('already decided');
    expect(
      refuseButton({ actor: admin, button: { ...button, expiresAt: now }, promotion: waiting, now: later }),
    ).toBe('expired');
    expect(refuseButton({ actor: { id: 8, isAdmin: true }, button, promotion: waiting, now })).toBe(
      'not the requester',
    );
  });

  it('under the two-person rule, refuses only the requester approving their own promotion', () => {
    const twoPerson = { ...button, boundUserId: null, notUserId: 7 };
    expect(refuseButton({ actor: admin, button: twoPerson, promotion: waiting, now })).toBe(
      'two-person rule',
    );
    expect(
      refuseButton({ actor: admin, button: { ...twoPerson, action: 'decline' }, promotion: waiting, now }),
    ).toBe(undefined);
    expect(
      refuseButton({ actor: { id: 8, isAdmin: true }, button: twoPerson, promotion: waiting, now }),
    ).toBe(undefined);
  });
});

describe('forge problems', () => {
  it('names rate limits, outages and a refused token, and leaves anything else to be rethrown', () => {
    const resetAt = new Date('2026-11-30T10:42:00Z');
    expect(forgeProblemOf(new RateLimitedError('limit', resetAt))).toEqual({ kind: 'rate limited', resetAt });
    expect(forgeProblemOf(new ForgeUnavailableError('502'))).toEqual({ kind: 'unavailable' });
    expect(forgeProblemOf(new AccessDeniedError('401'))).toEqual({ kind: 'access denied' });
    expect(forgeProblemOf(new NotFoundError('404'))).toBeUndefined();
    expect(forgeProblemOf(new Error('bug'))).toBeUndefined();
    expect(describeForgeProblem({ kind: 'rate limited', resetAt })).toBe(
      "GitHub's rate limit is used up until 10:42 UTC.",
    );
  });
});

describe('pure helpers', () => {
  it('writes every commit into the pull request body, uncapped', () => {
    const commits = Array.from({ length: 13 }, (_, i) => ({
      sha: `${i}`.padEnd(40, 'a'),
      title: `t${i}`,
      author: 'a',
    }));
    const comparison = { status: 'ahead', aheadBy: 13, behindBy: 0, commits, filesChanged: 1, headSha: '' };
    const body = pullBody(comparison as Comparison, '@ada');
    expect(body).toContain('requested from Telegram by @ada');
    expect(body.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(13);
  });

  it('tags the next patch version, or v0.1.0 first', () => {
    expect(nextTag(undefined)).toBe('v0.1.0');
    expect(nextTag('v1.4.9')).toBe('v1.4.10');
    expect(nextTag('release-7')).toBe('v0.1.0');
  });

  it('finds the commit a CI webhook is about', () => {
    expect(headShaOf('check_run', { check_run: { head_sha: 'abc' } })).toBe('abc');
    expect(headShaOf('pull_request', { pull_request: { head: { sha: 'def' } } })).toBe('def');
    expect(headShaOf('status', { sha: '123' })).toBe('123');
    expect(headShaOf('push', {})).toBeUndefined();
  });
});
