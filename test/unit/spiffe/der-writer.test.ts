import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as der from '../../../spiffe/internal/der-writer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Content bytes of a single short- or long-form element, read independently of the writer. */
function contents(el: Uint8Array): Buffer {
  const b = Buffer.from(el);
  let len = b[1]!;
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at++]!;
  }
  assert.equal(at + len, b.length, 'length octets cover exactly the contents');
  return b.subarray(at);
}

describe('der-writer', () => {
  describe('lengths', () => {
    it('uses the short form below 128 and the shortest long form above', () => {
      assert.equal(hex(der.octetString(Buffer.alloc(127)).subarray(0, 2)), '047f');
      assert.equal(hex(der.octetString(Buffer.alloc(128)).subarray(0, 3)), '048180');
      assert.equal(hex(der.octetString(Buffer.alloc(255)).subarray(0, 3)), '0481ff');
      assert.equal(hex(der.octetString(Buffer.alloc(256)).subarray(0, 4)), '04820100');
      assert.equal(hex(der.octetString(Buffer.alloc(65536)).subarray(0, 5)), '0483010000');
    });

    it('concatenates constructed contents in order', () => {
      const s = der.sequence(der.integer(1), der.boolean(true), der.NULL);
      assert.equal(hex(s), '3008020101' + '0101ff' + '0500');
      assert.equal(hex(der.sequence()), '3000');
    });
  });

  describe('OBJECT IDENTIFIER', () => {
    it('encodes known OIDs', () => {
      assert.equal(hex(der.oid('1.2.840.10045.2.1')), '06072a8648ce3d0201');
      assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
      assert.equal(hex(der.oid('2.5.29.17')), '0603551d11');
      assert.equal(hex(der.oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
      assert.equal(hex(der.oid('2.999.3')), '0603883703'); // X.690 8.19.5 example
      assert.equal(hex(der.oid('0.0')), '060100');
    });

    it('encodes arcs beyond 2^53 exactly', () => {
      const big = '2.25.329800735698586629295641978511506172918';
      const c = contents(der.oid(big));
      const arcs: bigint[] = [];
      let acc = 0n;
      for (const b of c) {
        acc = (acc << 7n) | BigInt(b & 0x7f);
        if ((b & 0x80) === 0) {
          arcs.push(acc);
          acc = 0n;
        }
      }
      assert.equal(arcs[0], 2n * 40n + 25n);
      assert.equal(arcs[1], 329800735698586629295641978511506172918n);
    });

    it('returns the cached encoding for a repeated OID', () => {
      assert.equal(der.oid('1.2.840.113549.1.1.11'), der.oid('1.2.840.113549.1.1.11'));
    });

    it('rejects malformed OID text', () => {
      for (const bad of ['', '1', '3.1', '1.40', '0.40', '1.2.', '.1.2', '01.2', '1.02', 'a.b', '1..2', '-1.2']) {
        assert.throws(() => der.oid(bad), der.DerError, bad);
      }
    });
  });

  describe('INTEGER', () => {
    it('encodes small numbers minimally, negatives in two\u2019s complement', () => {
      const cases: Array<[number | bigint, string]> = [
        [0, '020100'], [1, '020101'], [127, '02017f'], [128, '02020080'], [255, '020200ff'],
        [256, '02020100'], [2, '020102'], [-1, '0201ff'], [-128, '020180'], [-129, '0202ff7f'],
        [-256, '0202ff00'], [2n ** 64n, '0209010000000000000000'],
      ];
      for (const [v, want] of cases) assert.equal(hex(der.integer(v)), want, String(v));
      assert.throws(() => der.integer(2 ** 53), der.DerError);
      assert.throws(() => der.integer(1.5), der.DerError);
    });

    it('encodes unsigned magnitudes minimally with a 0x00 pad for a high bit', () => {
      assert.equal(hex(der.integerFromBytes(bytes(''))), '020100');
      assert.equal(hex(der.integerFromBytes(bytes('0000'))), '020100');
      assert.equal(hex(der.integerFromBytes(bytes('000001'))), '020101');
      assert.equal(hex(der.integerFromBytes(bytes('0080'))), '02020080');
      assert.equal(hex(der.integerFromBytes(bytes('80'))), '02020080');
      assert.equal(hex(der.integerFromBytes(bytes('7fff'))), '02027fff');
      assert.equal(hex(der.integerFromBytes(Buffer.alloc(16, 0xff))), '021100' + 'ff'.repeat(16));
    });

    it('round-trips any bigint through an independent two\u2019s-complement reader', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), (v) => {
          const c = contents(der.integer(v));
          // Minimal: the first nine bits are never all equal.
          if (c.length > 1) assert.ok(!(c[0] === 0 && c[1]! < 0x80) && !(c[0] === 0xff && c[1]! >= 0x80));
          let got = BigInt('0x' + c.toString('hex'));
          if (c[0]! & 0x80) got -= 1n << BigInt(c.length * 8);
          assert.equal(got, v);
        }),
      );
    });
  });

  describe('BIT STRING', () => {
    it('encodes named bits without trailing zero bits', () => {
      assert.equal(hex(der.namedBitString([0])), '03020780'); // digitalSignature
      assert.equal(hex(der.namedBitString([0, 2])), '030205a0'); // + keyEncipherment
      assert.equal(hex(der.namedBitString([5, 6])), '03020106'); // keyCertSign, cRLSign
      assert.equal(hex(der.namedBitString([0, 5, 6])), '03020186');
      assert.equal(hex(der.namedBitString([8])), '0303070080'); // decipherOnly
      assert.equal(hex(der.namedBitString([7])), '03020001');
      assert.equal(hex(der.namedBitString([])), '030100');
    });

    it('requires the unused bits to be zero', () => {
      assert.equal(hex(der.bitString(bytes('0a0b'))), '0303000a0b');
      assert.throws(() => der.bitString(bytes('81'), 1), der.DerError);
      assert.throws(() => der.bitString(bytes(''), 1), der.DerError);
      assert.throws(() => der.bitString(bytes('80'), 8), der.DerError);
    });
  });

  describe('simple types', () => {
    it('encodes BOOLEAN, NULL and OCTET STRING', () => {
      assert.equal(hex(der.boolean(true)), '0101ff');
      assert.equal(hex(der.boolean(false)), '010100');
      assert.equal(hex(der.NULL), '0500');
      assert.equal(hex(der.octetString(bytes('deadbeef'))), '0404deadbeef');
    });

    it('encodes strings with their types and rejects characters they cannot hold', () => {
      assert.equal(hex(der.utf8String('é')), '0c02c3a9');
      assert.equal(hex(der.printableString('US')), '13025553');
      assert.equal(hex(der.ia5String('a.b')), '1603612e62');
      assert.throws(() => der.printableString('a@b'), der.DerError);
      assert.throws(() => der.printableString('a_b'), der.DerError);
      assert.throws(() => der.ia5String('é'), der.DerError);
    });
  });

  describe('times', () => {
    const t = (iso: string): Date => new Date(iso);
    const text = (b: Buffer): string => contents(b).toString('latin1');

    it('uses UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5)', () => {
      const last = der.x509Time(t('2049-12-31T23:59:59Z'));
      assert.equal(last[0], der.Tag.UTC_TIME);
      assert.equal(text(last), '491231235959Z');
      const first = der.x509Time(t('2050-01-01T00:00:00Z'));
      assert.equal(first[0], der.Tag.GENERALIZED_TIME);
      assert.equal(text(first), '20500101000000Z');
      assert.equal(text(der.x509Time(t('1950-01-01T00:00:00Z'))), '500101000000Z');
      assert.equal(der.x509Time(t('1949-12-31T23:59:59Z'))[0], der.Tag.GENERALIZED_TIME);
      assert.equal(text(der.x509Time(t('9999-12-31T23:59:59Z'))), '99991231235959Z');
    });

    it('drops milliseconds instead of rounding and always writes seconds', () => {
      assert.equal(text(der.utcTime(t('2030-06-01T08:05:00.999Z'))), '300601080500Z');
      assert.equal(text(der.generalizedTime(t('2030-06-01T08:05:09.5Z'))), '20300601080509Z');
    });

    it('rejects dates it cannot represent', () => {
      assert.throws(() => der.utcTime(t('2050-01-01T00:00:00Z')), der.DerError);
      assert.throws(() => der.utcTime(t('1949-01-01T00:00:00Z')), der.DerError);
      assert.throws(() => der.x509Time(new Date(NaN)), der.DerError);
      assert.throws(() => der.x509Time(t('+010000-01-01T00:00:00Z')), der.DerError);
    });
  });

  describe('tags', () => {
    it('wraps explicitly and retags implicitly, keeping the constructed bit', () => {
      assert.equal(hex(der.explicit(0, der.integer(2))), 'a003020102');
      assert.equal(hex(der.explicit(3, der.sequence())), 'a3023000');
      assert.equal(hex(der.implicitPrimitive(6, der.ia5Bytes('x'))), '860178');
      assert.equal(hex(der.implicit(2, der.ia5String('x'))), '820178');
      assert.equal(hex(der.implicit(0, der.sequence(der.NULL))), 'a0020500');
      assert.throws(() => der.explicit(31, der.NULL), der.DerError);
      assert.throws(() => der.implicit(1, bytes('05')), der.DerError);
    });

    it('sorts SET OF elements by their encodings', () => {
      const a = der.integer(1);
      const b = der.integer(2);
      const c = der.octetString(bytes('00'));
      assert.equal(hex(der.setOf(c, b, a)), '3109' + hex(a) + hex(b) + hex(c));
    });
  });
});
