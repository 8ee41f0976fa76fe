/**
 * The two encodings jwtsvid gets byte-exact on its own: Go's %q quoting (so messages match
 * go-spiffe's) and DER → r||s conversion of ECDSA signatures from external signers.
 */
import assert from 'node:assert/strict';
import { goQuote, goQuoteList } from '../../../spiffe/jwtsvid/errors.js';
import { derToRawEcdsa } from '../../../spiffe/jwtsvid/ecdsa.js';

const bytes = (...parts: Array<number | number[]>): Uint8Array => new Uint8Array(parts.flat());
const ascii = (s: string): string =>
  [...s].map((c) => (/^[\x20-\x7e]$/.test(c) ? c : `U+${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)).join('');
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

describe('jwtsvid encodings', () => {
  describe("Go's %q", () => {
    // Expected values are what Go's strconv.Quote prints.
    const cases: Array<[string, string]> = [
      ['audience', '"audience"'],
      ['', '""'],
      ['a"b\\c', '"a\\"b\\\\c"'],
      ['\n\t\r\u0007\u0008\u000b\u000c', '"\\n\\t\\r\\a\\b\\v\\f"'],
      ['\u0000\u001f\u007f', '"\\x00\\x1f\\x7f"'],
      ['\u0085\u00a0\u200b', '"\\u0085\\u00a0\\u200b"'],
      ['é 日本 😀', '"é 日本 😀"'],
      ['\u{e0001}', '"\\U000e0001"'],
      ['\ud800', '"\ufffd"'],
    ];
    for (const [input, want] of cases) {
      it(`quotes ${ascii(input)} as ${ascii(want)}`, () => {
        assert.equal(goQuote(input), want);
      });
    }

    it('prints lists space-separated in brackets', () => {
      assert.equal(goQuoteList([]), '[]');
      assert.equal(goQuoteList(['a']), '["a"]');
      assert.equal(goQuoteList(['a', 'b c']), '["a" "b c"]');
    });
  });

  describe('DER → r||s', () => {
    it('left-pads short integers and strips the sign byte', () => {
      const s = [0x00, 0x80, ...fill(31, 0x11)];
      const der = bytes(0x30, 3 + 2 + s.length, 0x02, 0x01, 0x05, 0x02, s.length, s);
      assert.deepEqual(derToRawEcdsa(der, 32), bytes(fill(31, 0), 0x05, 0x80, fill(31, 0x11)));
    });

    it('reads the long length form P-521 signatures need', () => {
      const r = [0x01, ...fill(65, 0x22)];
      const s = [0x01, ...fill(65, 0x33)];
      const der = bytes(0x30, 0x81, 2 * 68, 0x02, 66, r, 0x02, 66, s);
      assert.deepEqual(derToRawEcdsa(der, 66), bytes(r, s));
    });

    const int = (n: number, v = 0x11): number[] => [0x02, n, ...fill(n, v)];
    const malformed: Array<[string, Uint8Array, number]> = [
      ['another outer tag', bytes(0x31, 6, int(1), int(1)), 32],
      ['a length that disagrees with the input', bytes(0x30, 7, int(1), int(1)), 32],
      ['trailing bytes', bytes(0x30, 6, int(1), int(1), 0x00), 32],
      ['long form for a short length', bytes(0x30, 0x81, 6, int(1), int(1)), 32],
      ['a two-byte length', bytes(0x30, 0x82, 0, 6, int(1), int(1)), 32],
      ['a third integer', bytes(0x30, 9, int(1), int(1), int(1)), 32],
      ['one integer', bytes(0x30, 3, int(1)), 32],
      ['a negative integer', bytes(0x30, 6, int(1, 0x80), int(1)), 32],
      ['a non-minimal integer', bytes(0x30, 7, 0x02, 2, 0x00, 0x01, int(1)), 32],
      ['an integer longer than the curve', bytes(0x30, 4 + 33 + 1, int(33), int(1)), 32],
      ['an empty integer', bytes(0x30, 5, 0x02, 0, int(1)), 32],
      ['nothing', bytes(), 32],
    ];
    for (const [what, der, size] of malformed) {
      it(`refuses ${what}`, () => {
        assert.equal(derToRawEcdsa(der, size), undefined);
      });
    }
  });
});
