/**
 * Test certificates for the x509svid tests, built here with a few lines of DER so every field the
 * verifier reads (two URI SANs, no keyUsage, name constraints, pathLen…) can be set or left out.
 * Independent of sigil's own issuance code on purpose: the verifier must not be tested with
 * certificates made by the code it is meant to catch mistakes in.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { X509Authorities, X509BundleSource } from '../../spiffe/bundle/source.js';
import { SigilError } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';

const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const int = (n: number): Buffer => tlv(0x02, Buffer.from(n < 0x80 ? [n] : [0, n]));
const bool = (b: boolean): Buffer => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const ia5 = (tag: number, s: string): Buffer => tlv(tag, Buffer.from(s, 'latin1'));

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function bitFlags(flags: number): Buffer {
  if (flags === 0) return tlv(0x03, Buffer.from([0]));
  const high = 31 - Math.clz32(flags);
  const bytes = Buffer.alloc(Math.floor(high / 8) + 1);
  for (let bit = 0; bit <= high; bit++) if (flags & (1 << bit)) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return tlv(0x03, Buffer.from([7 - (high % 8)]), bytes);
}

export const KU = { digitalSignature: 1, keyEncipherment: 4, keyAgreement: 16, keyCertSign: 32, cRLSign: 64 } as const;
export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

/** A GeneralName in a SAN or name constraint. IP constraints are address + mask bytes. */
export type Name = { uri: string } | { dns: string } | { ip: number[] } | { dirName: string };

function generalName(n: Name): Buffer {
  if ('uri' in n) return ia5(0x86, n.uri);
  if ('dns' in n) return ia5(0x82, n.dns);
  if ('dirName' in n) return tlv(0xa4, cnName(n.dirName));
  return tlv(0x87, Buffer.from(n.ip));
}

function cnName(cn: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
}

export interface CertSpec {
  cn: string;
  uris?: string[];
  dns?: string[];
  ips?: number[][];
  /** basicConstraints cA; undefined leaves the extension out. */
  ca?: boolean;
  pathLen?: number;
  /** keyUsage bits; undefined leaves the extension out. */
  keyUsage?: number;
  extKeyUsage?: string[];
  nameConstraints?: { permitted?: Name[]; excluded?: Name[]; critical?: boolean };
  /** Extra raw extensions, e.g. an unknown critical one. */
  extra?: { oid: string; critical: boolean; value: Buffer }[];
  notBefore?: Date;
  notAfter?: Date;
  /** The subject's key pair: reuse one, or pick a type for a fresh one (default P-256). */
  key?: KeyObject;
  keyType?: 'ec' | 'ed25519' | 'rsa';
}

export interface Issued {
  cert: X509Certificate;
  der: Buffer;
  key: KeyObject;
  subject: Buffer;
  ski: Buffer;
}

const HOUR = 3600_000;

/** A certificate for `spec`, signed by `issuer` (self-signed when absent); issuers must use EC keys. */
export function issue(spec: CertSpec, issuer?: Issued): Issued {
  const privateKey = spec.key ?? newKey(spec.keyType ?? 'ec');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const ski = createHash('sha1').update(spki).digest();
  const subject = cnName(spec.cn);
  const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
    seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
  const exts: Buffer[] = [];
  if (spec.keyUsage !== undefined) exts.push(ext('2.5.29.15', true, bitFlags(spec.keyUsage)));
  if (spec.ca !== undefined) {
    const fields = spec.ca ? [bool(true), ...(spec.pathLen !== undefined ? [int(spec.pathLen)] : [])] : [];
    exts.push(ext('2.5.29.19', true, seq(...fields)));
  }
  if (spec.extKeyUsage !== undefined) exts.push(ext('2.5.29.37', false, seq(...spec.extKeyUsage.map(oid))));
  const sans: Name[] = [
    ...(spec.uris ?? []).map((uri) => ({ uri })),
    ...(spec.dns ?? []).map((dns) => ({ dns })),
    ...(spec.ips ?? []).map((ip) => ({ ip })),
  ];
  if (sans.length > 0) exts.push(ext('2.5.29.17', false, seq(...sans.map(generalName))));
  if (spec.nameConstraints !== undefined) {
    const { permitted, excluded, critical = true } = spec.nameConstraints;
    const subtrees = (tag: number, names: Name[] | undefined): Buffer[] =>
      names === undefined ? [] : [tlv(tag, ...names.map((n) => seq(generalName(n))))];
    exts.push(ext('2.5.29.30', critical, seq(...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded))));
  }
  exts.push(ext('2.5.29.14', false, octets(ski)));
  if (issuer !== undefined) exts.push(ext('2.5.29.35', false, seq(tlv(0x80, issuer.ski))));
  for (const e of spec.extra ?? []) exts.push(ext(e.oid, e.critical, e.value));

  const now = Date.now();
  const sigAlg = seq(oid('1.2.840.10045.4.3.2'));
  const tbs = seq(
    tlv(0xa0, int(2)),
    tlv(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    sigAlg,
    issuer?.subject ?? subject,
    seq(time(spec.notBefore ?? new Date(now - HOUR)), time(spec.notAfter ?? new Date(now + HOUR))),
    subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, issuer?.key ?? privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.from([0]), signature));
  return { cert: new X509Certificate(der), der, key: privateKey, subject, ski };
}

function newKey(type: 'ec' | 'ed25519' | 'rsa'): KeyObject {
  if (type === 'ed25519') return generateKeyPairSync('ed25519').privateKey;
  if (type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** The usual SPIFFE shapes, overridable field by field. */
export function rootSpec(over: Partial<CertSpec> = {}): CertSpec {
  return {
    cn: 'root',
    uris: ['spiffe://example.org'],
    ca: true,
    keyUsage: KU.keyCertSign | KU.cRLSign | KU.digitalSignature,
    ...over,
  };
}

export function leafSpec(over: Partial<CertSpec> = {}): CertSpec {
  return {
    cn: 'leaf',
    uris: ['spiffe://example.org/workload'],
    ca: false,
    keyUsage: KU.digitalSignature | KU.keyEncipherment | KU.keyAgreement,
    extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
    ...over,
  };
}

/** The bundle classes live elsewhere; this is the Source contract and nothing more. */
export class Bundles implements X509BundleSource {
  readonly #byDomain: Map<string, X509Certificate[]>;
  constructor(entries: Record<string, Issued[]>) {
    this.#byDomain = new Map(Object.entries(entries).map(([td, certs]) => [td, certs.map((c) => c.cert)]));
  }
  getX509BundleForTrustDomain(td: TrustDomain): X509Authorities {
    const certs = this.#byDomain.get(td.name);
    if (certs === undefined) {
      throw new SigilError('SIGIL_BUNDLE_NOT_FOUND', `x509bundle: no X.509 bundle found for trust domain: "${td.name}"`);
    }
    return { trustDomain: td, x509Authorities: () => certs };
  }
}
