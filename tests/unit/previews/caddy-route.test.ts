// The route lugh gives Caddy for a preview, by equality: a host route when the template's
// host carries the number, a host-and-path route that strips the prefix when its path does.
import { describe, expect, it } from 'vitest';
import { caddyRoute, listensOn } from '../../../src/previews/caddy-proxy.js';
import { previewNames } from '../../../src/previews/preview.js';

describe('caddyRoute', () => {
  it('matches the preview’s host when the template’s host has {n}', () => {
    expect(caddyRoute('https://pr-{n}.preview.example.com', previewNames(7), '172.18.0.5:8080')).toEqual({
      '@id': 'lugh-preview-pr-7',
      match: [{ host: ['pr-7.preview.example.com'] }],
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '172.18.0.5:8080' }] }],
      terminal: true,
    });
  });

  it('matches host and path, and strips the prefix, when the template’s path has {n}', () => {
    expect(
      caddyRoute('https://preview.example.com/pr-{n}/', previewNames(12, 't-1'), '127.0.0.1:4000'),
    ).toEqual({
      '@id': 't-1-preview-pr-12',
      match: [{ host: ['preview.example.com'], path: ['/pr-12', '/pr-12/*'] }],
      handle: [
        { handler: 'rewrite', strip_path_prefix: '/pr-12' },
        { handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:4000' }] },
      ],
      terminal: true,
    });
  });
});

describe('listensOn', () => {
  it('reads Caddy’s listen addresses, ranges included', () => {
    expect(listensOn([':80'], '80')).toBe(true);
    expect(listensOn(['127.0.0.1:8080'], '80')).toBe(false);
    expect(listensOn(['tcp/[::]:8000-8010'], '8005')).toBe(true);
    expect(listensOn(undefined, '443')).toBe(false);
  });
});
