import { strict as assert } from 'node:assert';
import { SigilError } from '../../../spiffe/errors.js';
import {
  DEFAULT_MAX_DEPTH,
  formatJsonPath,
  JsonParseError,
  parseJson,
  stringifyJson,
  UNEXPECTED_END,
  type JsonValue,
} from '../../../spiffe/internal/json.js';

/** Parser objects have a null prototype; compare through a plain copy. */
function plain(v: JsonValue): unknown {
  return JSON.parse(stringifyJson(v));
}

function parseError(input: string | Uint8Array, options?: { maxDepth?: number }): JsonParseError {
  try {
    parseJson(input, options);
  } catch (err) {
    assert.ok(err instanceof JsonParseError, `expected JsonParseError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(String(input))} to be rejected`);
}

describe('internal/json parseJson', () => {
  it('parses the scalar values', () => {
    assert.equal(parseJson('true'), true);
    assert.equal(parseJson('false'), false);
    assert.equal(parseJson('null'), null);
    assert.equal(parseJson(' "x" '), 'x');
    assert.equal(parseJson('0'), 0);
    assert.ok(Object.is(parseJson('-0'), -0));
    assert.equal(parseJson('1.5'), 1.5);
    assert.equal(parseJson('-2.5e-3'), -0.0025);
    assert.equal(parseJson('1E3'), 1000);
  });

  it('keeps safe integers as numbers and larger integers exact as bigint', () => {
    assert.equal(parseJson('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseJson('-9007199254740991'), -Number.MAX_SAFE_INTEGER);
    assert.equal(parseJson('9007199254740992'), 9007199254740992n);
    assert.equal(parseJson('-9007199254740993'), -9007199254740993n);
    assert.equal(parseJson('18446744073709551615'), 2n ** 64n - 1n);
    assert.equal(parseJson('9223372036854775813'), 2n ** 63n + 5n);
  });

  it('returns non-integer literals as numbers, even when integral or large', () => {
    assert.equal(parseJson('1.0'), 1);
    assert.equal(parseJson('1e20'), 1e20);
    assert.equal(typeof parseJson('12345678901234567890.5'), 'number');
  });

  it('rejects numbers outside the RFC 8259 grammar or the double range', () => {
    for (const bad of ['01', '-', '1.', '.5', '+1', '1e', '1e+', 'NaN', 'Infinity', '-Infinity', '0x10', '1.e3']) {
      parseError(bad);
    }
    assert.equal(parseError('1e400').message, 'number 1e400 is out of range at offset 0');
    assert.equal(parseError('[0, 01]').message, "invalid character '1' after array element at offset 5");
    assert.match(parseError('1'.repeat(1025)).message, /^numeric literal longer than 1024 characters at offset 0$/);
  });

  it('decodes every escape, including surrogate pairs', () => {
    assert.equal(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), '"\\/\b\f\n\r\t');
    assert.equal(parseJson('"\\u00e9\\u00E9"'), 'éé');
    assert.equal(parseJson('"\\ud83d\\ude00"'), '😀');
    assert.equal(parseJson('"a\\u0000b"'), 'a\u0000b');
  });

  it('rejects lone surrogates, naming the escape and its offset', () => {
    assert.equal(parseError('"\\ud800"').message, 'lone surrogate \\uD800 in string at offset 1');
    assert.equal(parseError('["x", "\\udc00"]').message, 'lone surrogate \\uDC00 in string at offset 7');
    assert.equal(parseError('"\\ud800\\u0041"').message, 'lone surrogate \\uD800 in string at offset 1');
    assert.equal(parseError('"\\ud800x"').offset, 1);
  });

  it('rejects bad escapes and raw control characters', () => {
    assert.equal(parseError('"\\x"').message, "invalid character 'x' in string escape code at offset 2");
    assert.equal(parseError('"\\u12g4"').message, "invalid character 'g' in \\u hexadecimal character escape at offset 5");
    assert.equal(parseError('"a\nb"').message, "invalid character '\\x0a' in string literal at offset 2");
  });

  it('reads raw UTF-8 and rejects invalid sequences with their byte offset', () => {
    assert.equal(parseJson(Buffer.from('"é😀"', 'utf8')), 'é😀');
    const invalid: number[][] = [
      [0xff],
      [0xc0, 0xaf], // overlong '/'
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate encoded in UTF-8
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xc3, 0x28],
    ];
    for (const seq of invalid) {
      const err = parseError(Uint8Array.from([0x22, 0x61, ...seq, 0x22]));
      assert.equal(err.message, 'invalid UTF-8 in string at offset 2');
      assert.equal(err.offset, 2);
    }
  });

  it('gives byte offsets, not UTF-16 indexes', () => {
    const err = parseError('["é", x]');
    assert.equal(err.offset, 7);
    assert.equal(err.message, "invalid character 'x' looking for beginning of value at offset 7");
  });

  it('reports any premature end with Go text and no position', () => {
    for (const input of ['', '   ', '{', '{"a"', '{"a":', '[1,', '"abc', 'tru', '-', '"\\u12', '"\\']) {
      const err = parseError(input);
      assert.equal(err.message, UNEXPECTED_END);
      assert.equal(err.offset, Buffer.byteLength(input));
    }
    assert.equal(UNEXPECTED_END, 'unexpected end of JSON input');
  });

  it('rejects a BOM, trailing content and non-JSON whitespace', () => {
    assert.equal(parseError('\ufeff{}').message, "invalid character '\\xef' looking for beginning of value at offset 0");
    assert.equal(parseError('{} {}').message, "invalid character '{' after top-level value at offset 3");
    assert.equal(parseError('[1\u000b]').offset, 2);
    assert.deepEqual(plain(parseJson(' \t\r\n[ 1 ,\n2 ] ')), [1, 2]);
  });

  it('rejects malformed objects and arrays', () => {
    assert.equal(parseError('{"a" 1}').message, "invalid character '1' after object key at offset 5");
    assert.equal(parseError('{"a":1 "b":2}').message, "invalid character '\"' after object key:value pair at offset 7");
    assert.equal(parseError('{a:1}').message, "invalid character 'a' looking for beginning of object key string at offset 1");
    assert.equal(parseError('{"a":1,}').message, "invalid character '}' looking for beginning of object key string at offset 7");
    assert.equal(parseError('[1,]').message, "invalid character ']' looking for beginning of value at offset 3");
    assert.equal(parseError('nul!').message, "invalid character '!' in literal null at offset 3");
  });

  it('rejects duplicate keys, naming the key, the object path and the offset', () => {
    const err = parseError('{"keys":[],"keys":[]}');
    assert.equal(err.message, 'duplicate object key "keys" in $ at offset 11');
    assert.equal(err.key, 'keys');
    assert.equal(err.path, '$');
    assert.equal(err.offset, 11);
    const nested = parseError('{"a":{"b.c":[{"k":1},{"k":1,"k":2}]}}');
    assert.equal(nested.path, '$.a["b.c"][1]');
    assert.equal(nested.message, 'duplicate object key "k" in $.a["b.c"][1] at offset 28');
  });

  it('compares keys after unescaping', () => {
    assert.equal(parseError('{"a":1,"\\u0061":2}').key, 'a');
  });

  it('returns null-prototype objects, so "__proto__" is plain data', () => {
    const v = parseJson('{"__proto__":{"polluted":true},"toString":1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), null);
    assert.deepEqual(Object.keys(v), ['__proto__', 'toString']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(parseError('{"__proto__":1,"__proto__":2}').key, '__proto__');
  });

  it('bounds nesting depth, and fails cleanly far beyond it', () => {
    assert.equal(DEFAULT_MAX_DEPTH, 64);
    parseJson('['.repeat(64) + ']'.repeat(64));
    const err = parseError('['.repeat(65) + ']'.repeat(65));
    assert.equal(err.message, 'exceeded maximum nesting depth of 64 at offset 64');
    assert.equal(parseError('{"a":{"b":{}}}', { maxDepth: 2 }).message, 'exceeded maximum nesting depth of 2 at offset 10');
    parseJson('{"a":{"b":{}}}', { maxDepth: 3 });
    assert.equal(parseError('['.repeat(200_000)).offset, 64);
    assert.throws(() => parseJson('1', { maxDepth: 0 }), RangeError);
    assert.throws(() => parseJson('1', { maxDepth: 1001 }), RangeError);
  });

  it('raises SigilErrors with a stable code', () => {
    const err = parseError('x');
    assert.ok(err instanceof SigilError);
    assert.equal(err.code, 'SIGIL_JSON_INVALID');
  });

  it('accepts string and byte input alike', () => {
    const text = '{"k":[1,"two",null,true,{"x":-1.25}]}';
    assert.deepEqual(plain(parseJson(text)), plain(parseJson(Buffer.from(text))));
    const sub = Buffer.from('xx[1]xx').subarray(2, 5);
    assert.deepEqual(plain(parseJson(sub)), [1]);
  });
});

describe('internal/json stringifyJson', () => {
  it('writes bigint as a bare integer, so large integers round-trip', () => {
    const seq = 2n ** 63n + 5n;
    const text = stringifyJson({ spiffe_sequence: seq });
    assert.equal(text, '{"spiffe_sequence":9223372036854775813}');
    assert.equal((parseJson(text) as Record<string, JsonValue>)['spiffe_sequence'], seq);
  });

  it('writes compact JSON by default and indents on request', () => {
    const v = { a: [1, 'x', null, true], b: {}, c: [] };
    assert.equal(stringifyJson(v), '{"a":[1,"x",null,true],"b":{},"c":[]}');
    assert.equal(stringifyJson(v, { indent: 2 }), JSON.stringify(v, null, 2));
  });

  it('skips undefined members and keeps insertion order', () => {
    assert.equal(stringifyJson({ z: 1, a: undefined, m: 2 }), '{"z":1,"m":2}');
  });

  it('escapes strings and keys as JSON.stringify does', () => {
    assert.equal(stringifyJson({ 'a"b': 'line\nbreak\u0001' }), '{"a\\"b":"line\\nbreak\\u0001"}');
  });

  it('writes -0 as 0 and refuses non-finite numbers', () => {
    assert.equal(stringifyJson(-0), '0');
    assert.throws(() => stringifyJson(Number.NaN), TypeError);
    assert.throws(() => stringifyJson(Number.POSITIVE_INFINITY), TypeError);
  });

  it('round-trips what the parser returns, null-prototype objects included', () => {
    const text = '{"keys":[{"kid":"a","n":18446744073709551615}],"x":{"__proto__":1},"s":"😀é"}';
    assert.equal(stringifyJson(parseJson(text)), text);
  });

  it('refuses cyclic values instead of overflowing the stack', () => {
    const a: JsonValue[] = [];
    (a as unknown as JsonValue[][]).push(a);
    assert.throws(() => stringifyJson(a), /nested too deeply/);
  });
});

describe('internal/json formatJsonPath', () => {
  it('uses dots for identifiers and brackets otherwise', () => {
    assert.equal(formatJsonPath([]), '$');
    assert.equal(formatJsonPath(['trust_domains', 'example.org', 'keys', 0]), '$.trust_domains["example.org"].keys[0]');
  });
});
