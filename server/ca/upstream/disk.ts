/**
 * An upstream CA kept in files (SPIRE's `disk` UpstreamAuthority): its certificate (optionally
 * followed by its own chain), its private key, and the roots of that PKI. The files are read again
 * on every mint, so an operator who renews the upstream certificate needs no restart. Every problem
 * names the file it comes from.
 */
import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parsePemCertificates } from '../../../spiffe/bundle/certificates.js';
import { messageOf, SigilError } from '../../../spiffe/errors.js';
import { caTemplate, issueCertificate, validityWindow } from '../../../spiffe/x509svid/profile.js';
import { softwareSigner } from '../../../spiffe/x509svid/signer.js';
import { notAfterOf } from '../certificates.js';
import { CaError, CaErrorCode } from '../errors.js';
import type { MintedX509Ca, MintX509CaRequest, UpstreamAuthority } from './upstream-authority.js';

export interface DiskUpstreamConfig {
  /** PEM: the upstream CA certificate first, then any intermediates up to (not including) a root. */
  certFile: string;
  /** PEM private key of the first certificate in certFile (PKCS#8, SEC1 or PKCS#1). */
  keyFile: string;
  /** PEM: the upstream roots, published as the trust domain's X.509 authorities. */
  bundleFile: string;
}

interface UpstreamMaterial {
  chain: X509Certificate[];
  key: KeyObject;
  roots: X509Certificate[];
}

function upstreamError(message: string, cause?: unknown): CaError {
  return new CaError(CaErrorCode.upstream, `upstream(disk): ${message}`, { cause });
}

async function readText(what: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw upstreamError(`cannot read ${what} ${path}: ${messageOf(err)}`, err);
  }
}

async function readCertificates(what: string, path: string): Promise<X509Certificate[]> {
  const text = await readText(what, path);
  let certs: X509Certificate[];
  try {
    certs = parsePemCertificates(text);
  } catch (err) {
    throw upstreamError(`${what} ${path} cannot be parsed: ${messageOf(err)}`, err);
  }
  if (certs.length === 0) throw upstreamError(`${what} ${path} holds no CERTIFICATE block`);
  return certs;
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

async function loadUpstreamMaterial(config: DiskUpstreamConfig, now: Date): Promise<UpstreamMaterial> {
  const [chain, keyText, roots] = await Promise.all([
    readCertificates('certificate file', config.certFile),
    readText('key file', config.keyFile),
    readCertificates('bundle file', config.bundleFile),
  ]);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw upstreamError(`key file ${config.keyFile} holds no readable private key: ${messageOf(err)}`, err);
  }
  const signing = chain[0]!;
  if (!createPublicKey(key).equals(signing.publicKey)) {
    throw upstreamError(`key file ${config.keyFile} is not the key of the first certificate in ${config.certFile}`);
  }
  if (!signing.ca) {
    throw upstreamError(`the certificate in ${config.certFile} is not a CA (basicConstraints CA:TRUE is required)`);
  }
  if (notAfterOf(signing) <= now) {
    throw upstreamError(`the certificate in ${config.certFile} expired at ${notAfterOf(signing).toISOString()}: renew it`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!signedBy(chain[i]!, chain[i + 1]!)) {
      throw upstreamError(`certificate ${i + 1} in ${config.certFile} is not signed by certificate ${i + 2}: order it leaf-most first`);
    }
  }
  const top = chain[chain.length - 1]!;
  if (!roots.some((r) => r.raw.equals(top.raw) || signedBy(top, r))) {
    throw upstreamError(`the chain in ${config.certFile} does not lead to a root in ${config.bundleFile}`);
  }
  return { chain, key, roots };
}

export class DiskUpstreamAuthority implements UpstreamAuthority {
  readonly type = 'disk';

  constructor(readonly config: DiskUpstreamConfig) {}

  async mintX509Ca(request: MintX509CaRequest): Promise<MintedX509Ca> {
    const { chain, key, roots } = await loadUpstreamMaterial(this.config, request.now);
    const issuer = chain[0]!;
    let certificate: X509Certificate;
    try {
      const window = validityWindow(request.now, request.ttlSeconds, { notAfterCap: notAfterOf(issuer) });
      const template = caTemplate({
        trustDomain: request.trustDomain,
        publicKey: request.publicKey,
        issuer,
        notBefore: window.notBefore,
        notAfter: window.notAfter,
        subject: request.subject,
      });
      certificate = await issueCertificate(template, softwareSigner(key));
    } catch (err) {
      if (!(err instanceof SigilError)) throw err;
      throw upstreamError(`cannot sign a CA certificate with the certificate in ${this.config.certFile}: ${err.message}`, err);
    }
    // Roots are trusted already; sending them in every SVID chain would only cost bytes.
    const upstreamChain = chain.filter((c) => !roots.some((r) => r.raw.equals(c.raw)));
    return { certificate, upstreamChain, roots };
  }
}
