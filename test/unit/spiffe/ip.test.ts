/**
 * spiffe/internal/ip.ts, the IP literal parser shared by endpoint addresses and IP SANs, checked
 * against node:net (which spiffe/ may not use) and against the bytes each literal stands for.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { isIPv4, isIPv6, parseIP, parseIPv4, parseIPv6 } from '../../../spiffe/internal/ip.js';

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

describe('internal: IP literals', () => {
  it('reads IPv4 as 4 octets', () => {
    assert.equal(hex(parseIPv4('127.0.0.1')), '7f000001');
    assert.equal(hex(parseIPv4('0.0.0.0')), '00000000');
    assert.equal(hex(parseIPv4('255.255.255.255')), 'ffffffff');
    assert.equal(hex(parseIP('10.1.2.3')), '0a010203');
  });

  it('reads IPv6 as 16 octets, with :: and an embedded IPv4 tail', () => {
    assert.equal(hex(parseIPv6('::1')), '00000000000000000000000000000001');
    assert.equal(hex(parseIPv6('::')), '00000000000000000000000000000000');
    assert.equal(hex(parseIPv6('2001:db8::8:800:200c:417a')), '20010db80000000000080800200c417a');
    assert.equal(hex(parseIPv6('fe80::')), 'fe800000000000000000000000000000');
    assert.equal(hex(parseIPv6('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
    assert.equal(hex(parseIPv6('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
    assert.equal(hex(parseIPv6('64:ff9b::1.2.3.4')), '0064ff9b000000000000000001020304');
    assert.equal(hex(parseIP('ABCD::EF')), 'abcd00000000000000000000000000ef');
  });

  it('refuses what Go refuses: leading zeros, zones, stray colons, too many groups', () => {
    const bad = [
      '', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1.2.3.-1', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d',
      ':', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::',
      'fe80::1%eth0', '::1%1', '[::1]', '::ffff:1.2.3', '::ffff:01.2.3.4', '1.2.3.4::', '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4',
    ];
    for (const s of bad) assert.equal(parseIP(s), undefined, JSON.stringify(s));
  });

  it('tells IPv4 from IPv6 as node:net does, for generated addresses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const family = isIP(ip);
        assert.equal(isIPv4(ip), family === 4, ip);
        assert.equal(isIPv6(ip), family === 6, ip);
        assert.equal(parseIP(ip)?.length, family === 4 ? 4 : 16, ip);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back the 16 octets it was given, in full, compressed and upper-case forms', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
        const full = groups.join(':');
        // The first run of two or more zero groups written as '::'.
        const compressed = full.replace(/(^|:)0(:0)+(:|$)/, '::');
        for (const text of [full, compressed, full.toUpperCase()]) {
          assert.equal(hex(parseIPv6(text)), Buffer.from(bytes).toString('hex'), text);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
