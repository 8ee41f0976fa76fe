/**
 * A strict JSON reader for untrusted documents (SPIFFE bundles, bundle maps, JWK sets), and its
 * writer. `JSON.parse` is unfit for them: it keeps the last of duplicate keys (the bundle-map spec
 * says reject), rounds `spiffe_sequence` above 2^53, and reports errors without a position.
 *
 * Reading follows RFC 8259 exactly, on bytes: UTF-8 only (no BOM, no invalid sequences, no lone
 * surrogates via `\u` escapes), whitespace is space/tab/CR/LF, any value may be the top level.
 * Objects come back with a null prototype, so a member named `__proto__` or `toString` is data, never
 * an inherited property. Integers beyond Number.MAX_SAFE_INTEGER come back as exact bigints; every
 * other number as a number. Errors carry the byte offset (in `offset` and as "at offset N"), except
 * a premature end, which says only Go's "unexpected end of JSON input" so wrapped messages match
 * go-spiffe's. String input is read as its UTF-8 encoding.
 */
import { SigilError } from '../errors.js';

export type JsonValue = null | boolean | number | bigint | string | readonly JsonValue[] | JsonObject;

/** A member that is `undefined` is absent: the parser never produces one and the writer skips it. */
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}

export interface JsonParseOptions {
  /** Containers (objects + arrays) that may be open at once; default 64, at most 1000. */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;
const MAX_DEPTH_LIMIT = 1000;
/** BigInt parsing is superlinear; no legitimate bundle member needs more digits than this. */
const MAX_NUMBER_LENGTH = 1024;

/** Go's text, kept so wrappers read like go-spiffe (`unable to parse JWKS: unexpected end of JSON input`). */
export const UNEXPECTED_END = 'unexpected end of JSON input';

export class JsonParseError extends SigilError {
  /** Byte offset into the UTF-8 input where the problem was found (the input length at end of input). */
  readonly offset: number;
  /** For duplicate keys: the key, and the path of the object holding it (`$.trust_domains`). */
  readonly key: string | undefined;
  readonly path: string | undefined;

  constructor(message: string, offset: number, dup?: { key: string; path: string }) {
    super('SIGIL_JSON_INVALID', message);
    this.offset = offset;
    this.key = dup?.key;
    this.path = dup?.path;
  }
}

export function parseJson(input: string | Uint8Array, options: JsonParseOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`maxDepth must be an integer from 1 to ${MAX_DEPTH_LIMIT}`);
  }
  const buf =
    typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return new Reader(buf, maxDepth).document();
}

/** `$`, `$.keys[0].kid`, `$.trust_domains["example.org"]`: where a value sits in a document. */
export function formatJsonPath(segments: readonly (string | number)[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return out;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES = new Map<number, string>([
  [QUOTE, '"'],
  [BACKSLASH, '\\'],
  [0x2f, '/'],
  [0x62, '\b'],
  [0x66, '\f'],
  [0x6e, '\n'],
  [0x72, '\r'],
  [0x74, '\t'],
]);

class Reader {
  private pos = 0;
  private depth = 0;
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  document(): JsonValue {
    const value = this.value();
    this.skipWhitespace();
    if (this.pos < this.buf.length) throw this.unexpected('after top-level value');
    return value;
  }

  private value(): JsonValue {
    this.skipWhitespace();
    const b = this.peek();
    if (b === 0x7b) return this.object();
    if (b === 0x5b) return this.array();
    if (b === QUOTE) return this.string();
    if (b === 0x74) return this.literal('true', true);
    if (b === 0x66) return this.literal('false', false);
    if (b === 0x6e) return this.literal('null', null);
    if (b === 0x2d || isDigit(b)) return this.number();
    throw this.unexpected('looking for beginning of value');
  }

  private object(): JsonObject {
    const obj = Object.create(null) as Record<string, JsonValue>;
    this.container(0x7d, 'after object key:value pair', () => {
      this.skipWhitespace();
      if (this.peek() !== QUOTE) throw this.unexpected('looking for beginning of object key string');
      const keyOffset = this.pos;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(obj, key)) {
        const path = formatJsonPath(this.path);
        const message = `duplicate object key ${JSON.stringify(key)} in ${path} at offset ${keyOffset}`;
        throw new JsonParseError(message, keyOffset, { key, path });
      }
      this.skipWhitespace();
      if (this.peek() !== 0x3a) throw this.unexpected('after object key');
      this.pos++;
      this.path.push(key);
      obj[key] = this.value();
      this.path.pop();
    });
    return obj;
  }

  private array(): JsonValue[] {
    const arr: JsonValue[] = [];
    this.container(0x5d, 'after array element', () => {
      this.path.push(arr.length);
      arr.push(this.value());
      this.path.pop();
    });
    return arr;
  }

  /** From the opening bracket to `close`: comma-separated members, each read by `member`. */
  private container(close: number, afterMember: string, member: () => void): void {
    if (++this.depth > this.maxDepth) {
      throw new JsonParseError(`exceeded maximum nesting depth of ${this.maxDepth} at offset ${this.pos}`, this.pos);
    }
    this.pos++;
    this.skipWhitespace();
    if (this.peek() !== close) {
      for (;;) {
        member();
        this.skipWhitespace();
        const b = this.peek();
        if (b === close) break;
        if (b !== 0x2c) throw this.unexpected(afterMember);
        this.pos++;
      }
    }
    this.pos++;
    this.depth--;
  }

  private literal<T extends JsonValue>(text: string, value: T): T {
    for (let i = 0; i < text.length; i++) {
      if (this.peek() !== text.charCodeAt(i)) throw this.unexpected(`in literal ${text}`);
      this.pos++;
    }
    return value;
  }

  private number(): number | bigint {
    const start = this.pos;
    let integer = true;
    if (this.peek() === 0x2d) this.pos++;
    if (this.peek() === 0x30) this.pos++;
    else if (isDigit(this.peek())) this.digits();
    else throw this.unexpected('in numeric literal');
    if (this.peek() === 0x2e) {
      integer = false;
      this.pos++;
      if (!isDigit(this.peek())) throw this.unexpected('after decimal point in numeric literal');
      this.digits();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      integer = false;
      this.pos++;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.pos++;
      if (!isDigit(this.peek())) throw this.unexpected('in exponent of numeric literal');
      this.digits();
    }
    if (this.pos - start > MAX_NUMBER_LENGTH) {
      throw new JsonParseError(`numeric literal longer than ${MAX_NUMBER_LENGTH} characters at offset ${start}`, start);
    }
    const text = this.buf.toString('latin1', start, this.pos);
    const n = Number(text);
    if (integer) return Number.isSafeInteger(n) ? n : BigInt(text);
    if (!Number.isFinite(n)) throw new JsonParseError(`number ${text} is out of range at offset ${start}`, start);
    return n;
  }

  private digits(): void {
    while (isDigit(this.peek())) this.pos++;
  }

  private string(): string {
    this.pos++;
    let out = '';
    let run = this.pos;
    for (;;) {
      const b = this.peek();
      if (b === QUOTE) {
        out += this.buf.toString('utf8', run, this.pos);
        this.pos++;
        return out;
      }
      if (b === BACKSLASH) {
        out += this.buf.toString('utf8', run, this.pos);
        out += this.escape();
        run = this.pos;
      } else if (b < 0x20) {
        throw this.unexpected('in string literal');
      } else if (b < 0x80) {
        this.pos++;
      } else {
        this.utf8Sequence();
      }
    }
  }

  private escape(): string {
    const b = this.buf[++this.pos] ?? -1;
    if (b === 0x75) {
      this.pos++;
      return this.unicodeEscape();
    }
    const c = SIMPLE_ESCAPES.get(b);
    if (c === undefined) throw this.unexpected('in string escape code');
    this.pos++;
    return c;
  }

  /** After `\u`. A surrogate must come as a high+low pair: a lone half is not a Unicode scalar. */
  private unicodeEscape(): string {
    const at = this.pos - 2;
    const unit = this.hex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) throw this.loneSurrogate(unit, at);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (this.peek() !== BACKSLASH || this.buf[this.pos + 1] !== 0x75) {
      if (this.pos >= this.buf.length) throw this.endOfInput();
      throw this.loneSurrogate(unit, at);
    }
    this.pos += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) throw this.loneSurrogate(unit, at);
    return String.fromCharCode(unit, low);
  }

  private hex4(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const d = hexValue(this.peek());
      if (d < 0) throw this.unexpected('in \\u hexadecimal character escape');
      v = v * 16 + d;
      this.pos++;
    }
    return v;
  }

  /** Checks one multi-byte UTF-8 sequence against RFC 3629 section 4 (no overlongs, no surrogates). */
  private utf8Sequence(): void {
    const start = this.pos;
    const b0 = this.buf[start] ?? 0;
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) n = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      n = 2;
      if (b0 === 0xe0) lo = 0xa0;
      if (b0 === 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      n = 3;
      if (b0 === 0xf0) lo = 0x90;
      if (b0 === 0xf4) hi = 0x8f;
    } else throw new JsonParseError(`invalid UTF-8 in string at offset ${start}`, start);
    for (let i = 1; i <= n; i++) {
      if (start + i >= this.buf.length) throw this.endOfInput();
      const b = this.buf[start + i] ?? 0;
      if (b < (i === 1 ? lo : 0x80) || b > (i === 1 ? hi : 0xbf)) {
        throw new JsonParseError(`invalid UTF-8 in string at offset ${start}`, start);
      }
    }
    this.pos = start + n + 1;
  }

  private skipWhitespace(): void {
    for (;;) {
      const b = this.buf[this.pos];
      if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return;
      this.pos++;
    }
  }

  /** The byte at the cursor, or -1 at the end (which matches no grammar byte). */
  private peek(): number {
    return this.pos < this.buf.length ? (this.buf[this.pos] ?? -1) : -1;
  }

  /** Go reports every premature end with this one text, without a position (it is always the end). */
  private endOfInput(): JsonParseError {
    return new JsonParseError(UNEXPECTED_END, this.buf.length);
  }

  private unexpected(context: string): JsonParseError {
    if (this.pos >= this.buf.length) return this.endOfInput();
    return new JsonParseError(
      `invalid character ${describeByte(this.buf[this.pos] ?? 0)} ${context} at offset ${this.pos}`,
      this.pos,
    );
  }

  private loneSurrogate(unit: number, at: number): JsonParseError {
    const hex = unit.toString(16).toUpperCase();
    return new JsonParseError(`lone surrogate \\u${hex} in string at offset ${at}`, at);
  }
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

function describeByte(b: number): string {
  if (b === 0x27) return "'\\''";
  if (b >= 0x20 && b < 0x7f) return `'${String.fromCharCode(b)}'`;
  return `'\\x${b.toString(16).padStart(2, '0')}'`;
}

export interface JsonStringifyOptions {
  /** Spaces per level; 0 (default) writes compact JSON. */
  indent?: number;
}

const MAX_WRITE_DEPTH = 1000;

/**
 * The writer counterpart: bigint is written as a bare integer (so `spiffe_sequence` round-trips
 * exactly), members whose value is `undefined` are left out, and member order is the caller's, so
 * callers that want deterministic bytes insert members in a fixed order.
 */
export function stringifyJson(value: JsonValue, options: JsonStringifyOptions = {}): string {
  const indent = options.indent ?? 0;
  if (!Number.isInteger(indent) || indent < 0 || indent > 10) throw new RangeError('indent must be an integer from 0 to 10');
  return write(value, indent, 0);
}

function write(value: JsonValue, indent: number, level: number): string {
  if (level > MAX_WRITE_DEPTH) throw new TypeError('JSON value is nested too deeply (cyclic?)');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot write non-finite number ${value} as JSON`);
      return JSON.stringify(value);
    case 'string':
      // Well-formed JSON.stringify (ES2019) escapes lone surrogates, so the output is valid UTF-8.
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`);
  }
  const nl = indent > 0 ? '\n' + ' '.repeat(indent * (level + 1)) : '';
  const close = indent > 0 ? '\n' + ' '.repeat(indent * level) : '';
  const colon = indent > 0 ? ': ' : ':';
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value as readonly JsonValue[]) parts.push(nl + write(item, indent, level + 1));
    return parts.length === 0 ? '[]' : `[${parts.join(',')}${close}]`;
  }
  const obj = value as JsonObject;
  for (const key of Object.keys(obj)) {
    const member = obj[key];
    if (member === undefined) continue;
    parts.push(nl + JSON.stringify(key) + colon + write(member, indent, level + 1));
  }
  return parts.length === 0 ? '{}' : `{${parts.join(',')}${close}}`;
}
