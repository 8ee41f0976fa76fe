/**
 * PEM blocks as go-spiffe's pemutil reads them: every block is returned with its type; callers
 * skip the types they do not want. "No PEM block at all" is distinct from "no block of my type".
 */

export interface PemBlock {
  type: string;
  bytes: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** All PEM blocks in the input, in order. Returns [] when there is none. */
export function decodePem(input: string | Uint8Array): PemBlock[] {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = (m[2] ?? '').replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '');
    blocks.push({ type: m[1] ?? '', bytes: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** One PEM block with 64-column base64 lines, as openssl and Go write them. */
export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  let out = `-----BEGIN ${type}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${type}-----\n`;
}
