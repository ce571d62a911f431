// A preview's passwords are derived, never stored: the same for the same name and server
// secret, different for another name or another secret, keyed by the URL's password only.
import { describe, expect, it } from 'vitest';
import { derivedPassword, secretOf } from '../../../src/previews/derived-password.js';
import { previewNames } from '../../../src/previews/preview.js';
import { previewDatabaseUrl } from '../../../src/previews/preview-database.js';

const admin = 'postgres://lugh_previews:s3cret@db:5432/postgres';

describe('derivedPassword', () => {
  it('is the same for the same name and secret, and another for another of either', () => {
    expect(derivedPassword(admin, 'preview_pr_7')).toBe(derivedPassword(admin, 'preview_pr_7'));
    expect(derivedPassword(admin, 'preview_pr_7')).not.toBe(derivedPassword(admin, 'preview_pr_8'));
    expect(derivedPassword(admin, 'preview_pr_7')).not.toBe(
      derivedPassword('postgres://lugh_previews:other@db:5432/postgres', 'preview_pr_7'),
    );
    // Keyed by the password alone: the same server reached by another host name gives the same.
    expect(derivedPassword('postgres://lugh_previews:s3cret@10.0.0.5/postgres', 'preview_pr_7')).toBe(
      derivedPassword(admin, 'preview_pr_7'),
    );
    expect(derivedPassword(admin, 'preview_pr_7')).toMatch(/^[0-9a-f]{40}$/);
    expect(derivedPassword(admin, 'preview_pr_7')).not.toContain('s3cret');
  });

  it('keys by the whole URL when it has no password', () => {
    expect(secretOf('redis://redis:6379')).toBe('redis://redis:6379');
    expect(secretOf('redis://:pw%40x@redis:6379')).toBe('pw@x');
  });
});

describe('previewDatabaseUrl', () => {
  it('logs in as the preview’s role to its database, on PREVIEW_DATABASE_HOST when set', () => {
    const names = previewNames(7);
    const url = new URL(previewDatabaseUrl({ adminUrl: admin }, names));
    expect([url.username, url.host, url.pathname]).toEqual(['preview_pr_7', 'db:5432', '/preview_pr_7']);
    expect(url.password).toBe(derivedPassword(admin, 'preview_pr_7'));
    expect(new URL(previewDatabaseUrl({ adminUrl: admin, host: 'pg.internal' }, names)).host).toBe(
      'pg.internal:5432',
    );
    expect(new URL(previewDatabaseUrl({ adminUrl: admin, host: 'pg:6000' }, names)).host).toBe('pg:6000');
  });
});

describe('scramVerifier', () => {
  it('is a SCRAM-SHA-256 verifier of the password (RFC 5802/7677 keys), never the password itself', async () => {
    const { scramVerifier } = await import('../../../src/previews/derived-password.js');
    const { createHash, createHmac, pbkdf2Sync } = await import('node:crypto');
    const password = derivedPassword(admin, 'preview_pr_7');
    const verifier = scramVerifier(password);
    expect(verifier).not.toContain(password);
    const m = /^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
    expect(m).not.toBeNull();
    const salted = pbkdf2Sync(password, Buffer.from(m![1]!, 'base64'), 4096, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    expect(m![2]).toBe(createHash('sha256').update(clientKey).digest('base64'));
    expect(m![3]).toBe(createHmac('sha256', salted).update('Server Key').digest('base64'));
    // A fresh salt each time: two verifiers of one password differ.
    expect(scramVerifier(password)).not.toBe(verifier);
  });
});
