/**
 * X.509-SVID issuance: spiffe/'s leaf profile, signed by the CA's ManagedKey. Each signature runs
 * where the key lives (the thread pool for software keys), so the batch form signs a whole request
 * of CSRs concurrently and one bad request fails alone.
 */
import { X509Certificate } from 'node:crypto';
import type { SigilError } from '../../spiffe/errors.js';
import type { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { assembleCertificate, encodeTbs, leafTemplate, validityWindow } from '../../spiffe/x509svid/profile.js';
import type { PublicKeyInput } from '../../spiffe/x509svid/signer.js';
import type { X509Ca } from './authority.js';
import { CaError, CaErrorCode } from './errors.js';
import { asIssuanceError, checkMember, resolveTtl } from './requests.js';

export interface X509SvidRequest {
  spiffeId: SpiffeId;
  /** The subject's public key: SPKI DER (as a CSR carries it) or a KeyObject. */
  publicKey: PublicKeyInput;
  /** Seconds; absent or 0 = the default. Capped at the CA's notAfter. */
  ttlSeconds?: number;
  /** DNS SANs after the URI SAN; the first is also the subject CN. */
  dnsNames?: readonly string[];
  /** IP SANs (IPv4 or IPv6 literals) after the DNS SANs. */
  ipAddresses?: readonly string[];
}

export interface IssuedX509Svid {
  readonly spiffeId: SpiffeId;
  /** Leaf first, then the CA's intermediates (none when the CA is a self-signed root). */
  readonly certificates: X509Certificate[];
  /** The same chain as DER, what the agent API sends; cheaper than `certificates` when that is all one needs. */
  readonly certificatesDer: Buffer[];
  readonly expiresAt: Date;
  /** The leaf's serial in hex, as X509Certificate.serialNumber spells it. */
  readonly serialNumber: string;
}

/**
 * The leaf is parsed into an X509Certificate only when asked for: on OpenSSL 3.0 (Node 20) parsing
 * costs about 4 signatures, and the agent API needs only the DER it already has.
 */
class IssuedSvid implements IssuedX509Svid {
  #certificates: X509Certificate[] | undefined;

  constructor(
    readonly spiffeId: SpiffeId,
    private readonly leafDer: Buffer,
    private readonly intermediates: readonly X509Certificate[],
    readonly expiresAt: Date,
    readonly serialNumber: string,
  ) {}

  get certificates(): X509Certificate[] {
    return (this.#certificates ??= [new X509Certificate(this.leafDer), ...this.intermediates]);
  }

  get certificatesDer(): Buffer[] {
    return [this.leafDer, ...this.intermediates.map((c) => c.raw)];
  }
}

/** One result per request of a batch, in request order. */
export type X509SvidResult = { svid: IssuedX509Svid; error?: undefined } | { svid?: undefined; error: SigilError };

export interface X509IssueContext {
  trustDomain: TrustDomain;
  now: Date;
  defaultTtlSeconds: number;
}

function checkUsable(ca: X509Ca, now: Date): void {
  if (ca.notAfter <= now) {
    throw new CaError(
      CaErrorCode.unavailable,
      `X.509 CA ${ca.authorityId} expired at ${ca.notAfter.toISOString()}: no X.509-SVID can be signed until a new CA is active`,
    );
  }
}

export async function issueX509Svid(ca: X509Ca, req: X509SvidRequest, ctx: X509IssueContext): Promise<IssuedX509Svid> {
  checkMember(ctx.trustDomain, req.spiffeId);
  checkUsable(ca, ctx.now);
  const ttl = resolveTtl(req.ttlSeconds, ctx.defaultTtlSeconds, 'X.509-SVID');
  try {
    const { notBefore, notAfter } = validityWindow(ctx.now, ttl, { notAfterCap: ca.notAfter });
    const template = leafTemplate({
      id: req.spiffeId, publicKey: req.publicKey, issuer: ca.certificate, notBefore, notAfter, dnsNames: req.dnsNames,
      ipAddresses: req.ipAddresses,
    });
    // issueCertificate's three steps, without the X509Certificate it would parse the result into.
    const signer = ca.key.signer();
    const tbs = encodeTbs(template, signer.algorithm);
    const leafDer = assembleCertificate(tbs, signer.algorithm, await signer.sign(tbs));
    const serial = template.serial.toString('hex').toUpperCase();
    return new IssuedSvid(req.spiffeId, leafDer, ca.intermediates, template.notAfter, serial);
  } catch (err) {
    throw asIssuanceError(err, `signing an X.509-SVID with ${ca.key.location}`);
  }
}

/** Signs every request concurrently; a failed request gets its error in its place. */
export function issueX509Svids(ca: X509Ca, reqs: readonly X509SvidRequest[], ctx: X509IssueContext): Promise<X509SvidResult[]> {
  return Promise.all(
    reqs.map((req) =>
      issueX509Svid(ca, req, ctx).then(
        (svid): X509SvidResult => ({ svid }),
        (err: unknown): X509SvidResult => ({ error: asIssuanceError(err, 'issuing an X.509-SVID') }),
      ),
    ),
  );
}
