import { describe, expect, it } from 'vitest';
import { firstHostOf } from '../../../src/sandbox/launcher/sandbox-previews.js';

describe('the bridge gateway when Docker lists only the subnet', () => {
  it('is the first address after the subnet’s own', () => {
    expect(firstHostOf('172.17.0.0/16')).toBe('172.17.0.1');
    expect(firstHostOf('10.200.16.0/20')).toBe('10.200.16.1');
    // A subnet written with a host part still starts where its mask says.
    expect(firstHostOf('192.168.5.77/24')).toBe('192.168.5.1');
  });

  it('is none for IPv6, a subnet with no room for hosts, or no subnet', () => {
    expect(firstHostOf('fd00::/64')).toBeUndefined();
    expect(firstHostOf('10.0.0.4/31')).toBeUndefined();
    expect(firstHostOf(undefined)).toBeUndefined();
  });
});
