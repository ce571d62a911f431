// The shapes the scan looks for (the same patterns run in Postgres).
import { describe, expect, it } from 'vitest';
import { personalKinds } from '../../../src/refresh/personal-patterns.js';

describe('personalKinds', () => {
  it.each([
    ['ada@lovelace.example.com', 'email'],
    ['write to first.last+tag@mail.co.uk today', 'email'],
    ['call +44 7700 900123', 'phone'],
    ['(555) 123-4567', 'phone'],
    ['555.123.4567', 'phone'],
    ['07700900123', 'phone'],
    [`ghp_${'a1B2'.repeat(9)}`, 'token'],
    [`github_pat_${'A1b2'.repeat(6)}`, 'token'],
    [`123456789:${'Ab3_-'.repeat(7)}`, 'token'],
    ['AKIAABCDEFGHIJKLMNOP', 'token'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig', 'token'],
    ['deadbeef'.repeat(7), 'token'],
    [`${'aZ3'.repeat(14)}`, 'token'],
  ])('finds %s as a %s', (value, kind) => {
    expect(personalKinds(value)).toEqual([kind]);
  });

  it.each([
    'hello world',
    '2024-01-01 12:00:00',
    'order 12345 shipped on 2024-03-04',
    'deadbeef'.repeat(5), // a commit SHA (40 hex)
    'https://example.com/some/path/is/here/and/longer/still',
    'user-12@example.invalid',
    '+0-555-0000012',
    `sha256:${'0123456789abcdef'.repeat(4)}`, // a Docker image id
    `registry.example/lugh@sha256:${'0123456789abcdef'.repeat(4)}`,
    'Person 3, Text 4',
  ])('finds nothing personal in %s (the anonymiser’s own fakes included)', (value) => {
    expect(personalKinds(value)).toEqual([]);
  });

  it('still finds a real value beside a fake one, or a digest', () => {
    expect(personalKinds('user-1@example.invalid or ada@lovelace.example.com')).toEqual(['email']);
    expect(personalKinds(`sha256:${'ab'.repeat(32)} ${'cd'.repeat(30)}`)).toEqual(['token']);
  });
});
