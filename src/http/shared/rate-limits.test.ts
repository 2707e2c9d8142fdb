// Whom a per-client limit counts (clientKey): an IPv4 address, or an IPv6 /64,
// and for IPv6 the /48 that has a ceiling of its own (clientKeys).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientKey, clientKeys } from './rate-limits.ts';

describe('clientKey', () => {
  test('an IPv4 address is its own key', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
    assert.notEqual(clientKey('203.0.113.7'), clientKey('203.0.113.8'));
  });

  test('an IPv4-mapped IPv6 address counts as its IPv4 address', () => {
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::FFFF:203.0.113.7'), '203.0.113.7');
  });

  test('IPv6 addresses in one /64 share a key, however they are written', () => {
    const key = clientKey('2001:db8:1:2::1');
    for (const address of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::1%eth0', '2001:db8:1:2:0:0:1.2.3.4']) {
      assert.equal(clientKey(address), key, address);
    }
    assert.equal(key, '2001:db8:1:2::/64');
  });

  test('IPv6 addresses in different /64s have different keys', () => {
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.notEqual(clientKey('2001:db8::1'), clientKey('2001:db9::1'));
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1'), 'fe80:0:0:0::/64');
  });

  test('something that is not an IP address is kept as it is', () => {
    assert.equal(clientKey('unknown'), 'unknown');
  });
});

describe('clientKeys', () => {
  test('an IPv6 client has its /64 and the /48 around it; /64s of one /48 share the /48', () => {
    assert.deepEqual(clientKeys('2001:db8:1:2::1'), { client: '2001:db8:1:2::/64', block: '2001:db8:1::/48' });
    assert.equal(clientKeys('2001:0db8:0001:ffff::9').block, '2001:db8:1::/48');
    assert.notEqual(clientKeys('2001:db8:2:2::1').block, '2001:db8:1::/48');
  });

  test('an IPv4 client, mapped or not, has no /48', () => {
    assert.deepEqual(clientKeys('203.0.113.7'), { client: '203.0.113.7' });
    assert.deepEqual(clientKeys('::ffff:203.0.113.7'), { client: '203.0.113.7' });
  });
});
