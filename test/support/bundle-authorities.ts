/**
 * Authorities for the bundle tests: CA certificates made with @peculiar/x509 (a library independent
 * of sigil's own issuing code) and JWT signing keys of every type a bundle can carry.
 */
// @peculiar/x509 loads tsyringe, which needs the Reflect metadata API before it is imported.
import 'reflect-metadata';
import { generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';

type X509Lib = typeof import('@peculiar/x509');
type SelfSignedParams = Parameters<X509Lib['X509CertificateGenerator']['createSelfSigned']>[0];

let lib: Promise<X509Lib> | undefined;

function x509(): Promise<X509Lib> {
  lib ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<X509Lib['cryptoProvider']['set']>[0]);
    return m;
  });
  return lib;
}

export type CaKind = 'P-256' | 'P-384' | 'RSA' | 'Ed25519';

const SIGNING: Record<CaKind, Record<string, unknown>> = {
  'P-256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'P-384': { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  RSA: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
  Ed25519: { name: 'Ed25519' },
};

/**
 * The same certificate claiming an X25519 key: the Ed25519 and X25519 algorithm OIDs (1.3.101.112,
 * 1.3.101.110) differ in their last byte only, so the swap keeps every length. Its signature no
 * longer verifies, which bundle code never checks.
 */
export function withX25519Key(ed25519Ca: X509Certificate): X509Certificate {
  const der = Buffer.from(ed25519Ca.raw);
  const spkiAlgorithm = Buffer.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]);
  const at = der.indexOf(spkiAlgorithm);
  if (at < 0) throw new Error('not an Ed25519 certificate');
  der[at + spkiAlgorithm.length - 1] = 0x6e;
  return new X509Certificate(der);
}

let serial = 1;

/** A self-signed CA whose SPIFFE ID is the trust domain's, as SPIRE's root CAs are. */
export async function makeCa(kind: CaKind, trustDomain = 'example.org'): Promise<X509Certificate> {
  const lib = await x509();
  const alg = SIGNING[kind];
  const keys = (await webcrypto.subtle.generateKey(alg as unknown as webcrypto.RsaHashedKeyGenParams, true, [
    'sign',
    'verify',
  ])) as unknown as SelfSignedParams['keys'];
  const now = Date.now();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${kind} CA ${serial},O=SPIFFE`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: alg as unknown as SelfSignedParams['signingAlgorithm'],
    extensions: [
      new lib.BasicConstraintsExtension(true, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      new lib.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

export type KeyKind = 'P-256' | 'P-384' | 'P-521' | 'RSA' | 'Ed25519';

/** A public key of the given kind (the private half is not needed to test bundles). */
export function makeKey(kind: KeyKind): KeyObject {
  if (kind === 'RSA') return generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  if (kind === 'Ed25519') return generateKeyPairSync('ed25519').publicKey;
  return generateKeyPairSync('ec', { namedCurve: kind }).publicKey;
}

export function td(name = 'example.org'): TrustDomain {
  return TrustDomain.fromString(name);
}
