/**
 * CSRs from agents: the signature is checked (proof that the sender holds the key), then only the
 * public key is used — names, extensions and attributes in a CSR are the requester's wishes, and
 * the server decides every name from the entry or the agent's attestation.
 *
 * Parsing uses spiffe/'s DER reader and node:crypto, not @peculiar/x509: measured on 1,000 P-256
 * CSRs, Pkcs10CertificateRequest + its WebCrypto verify() took ~1,000 ms, its parser with
 * node:crypto ~550 ms, this ~220 ms (most of it OpenSSL decoding the key) — the difference between
 * a large batch fitting in a second or not. Only three things are read (the signed bytes, the
 * signature algorithm and the signature) plus the SPKI, which OpenSSL then parses strictly.
 * (The test agent makes its CSRs with @peculiar/x509, so the two implementations check each other.)
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { messageOf } from '../../../spiffe/errors.js';
import { children, content, decodeOid, encoding, readWhole, Tag } from '../../../spiffe/internal/der.js';
import { invalid, type AgentApiError } from './errors.js';

/** Well above any real CSR (an RSA-4096 one is under 2 KiB); bounds the parser's work. */
export const MAX_CSR_BYTES = 16 * 1024;

/** Signature algorithm OID → [key type it needs, hash for node:crypto (null: the algorithm hashes itself)]. */
const ALGORITHMS: Readonly<Record<string, readonly [string, string | null]>> = {
  '1.2.840.10045.4.3.2': ['ec', 'sha256'],
  '1.2.840.10045.4.3.3': ['ec', 'sha384'],
  '1.2.840.10045.4.3.4': ['ec', 'sha512'],
  '1.2.840.113549.1.1.11': ['rsa', 'sha256'],
  '1.2.840.113549.1.1.12': ['rsa', 'sha384'],
  '1.2.840.113549.1.1.13': ['rsa', 'sha512'],
  '1.3.101.112': ['ed25519', null],
};

interface ParsedCsr {
  tbs: Uint8Array;
  spki: Buffer;
  algorithm: string;
  signature: Uint8Array;
}

/** The CSR's public key as SPKI DER; `what` names the CSR in errors ("the CSR for entry …"). */
export async function csrPublicKey(der: Uint8Array | undefined, what: string): Promise<Buffer> {
  if (der === undefined || der.length === 0) throw invalid(`${what} is missing`);
  if (der.length > MAX_CSR_BYTES) throw invalid(`${what} is ${der.length} bytes, more than the ${MAX_CSR_BYTES} a CSR may be`);
  let csr: ParsedCsr;
  try {
    csr = parse(der);
  } catch (err) {
    throw bad(what, `is not a DER PKCS#10 certificate request (${messageOf(err)})`, err);
  }
  const alg = ALGORITHMS[csr.algorithm];
  if (alg === undefined) throw bad(what, `is signed with algorithm ${csr.algorithm}: use ECDSA, RSA PKCS#1 v1.5 (SHA-2) or Ed25519`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: csr.spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw bad(what, `has a public key that cannot be read (${messageOf(err)})`, err);
  }
  if (key.asymmetricKeyType !== alg[0]) throw bad(what, `has a ${key.asymmetricKeyType ?? 'unknown'} key but a signature algorithm for ${alg[0]} keys`);
  let ok: boolean;
  try {
    ok = verify(alg[1], csr.tbs, { key, dsaEncoding: 'der' }, csr.signature);
  } catch (err) {
    throw bad(what, `has a signature that cannot be checked (${messageOf(err)})`, err);
  }
  if (!ok) throw bad(what, 'has a signature that does not match its public key');
  return csr.spki;
}

/**
 * CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING },
 * certificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name, subjectPKInfo, [0] attributes }.
 */
function parse(der: Uint8Array): ParsedCsr {
  const outer = children(der, readWhole(der, Tag.SEQUENCE, 'CertificationRequest'));
  const [info, algorithm, signature] = outer;
  if (outer.length !== 3 || info!.tag !== Tag.SEQUENCE || algorithm!.tag !== Tag.SEQUENCE || signature!.tag !== Tag.BIT_STRING) {
    throw new Error('expected SEQUENCE { info, algorithm, BIT STRING }');
  }
  const fields = children(der, info!);
  const spki = fields[2];
  if (fields.length < 3 || spki!.tag !== Tag.SEQUENCE) throw new Error('certificationRequestInfo has no subjectPKInfo');
  const oid = children(der, algorithm!)[0];
  if (oid === undefined || oid.tag !== Tag.OID) throw new Error('signatureAlgorithm has no OID');
  const bits = content(der, signature!);
  if (bits.length < 2 || bits[0] !== 0) throw new Error('the signature BIT STRING is empty or not whole bytes');
  return {
    tbs: encoding(der, info!),
    spki: Buffer.from(encoding(der, spki!)),
    algorithm: decodeOid(content(der, oid)),
    signature: bits.subarray(1),
  };
}

function bad(what: string, problem: string, cause?: unknown): AgentApiError {
  return invalid(`${what} ${problem}`, cause);
}
