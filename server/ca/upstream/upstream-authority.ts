/**
 * The UpstreamAuthority seam: who signs this server's CA certificate when the trust domain chains
 * to an existing PKI instead of a self-signed root (SPIRE's MintX509CA). Built-ins: disk. A nested
 * or remote upstream implements the same call; publishing JWT keys upstream would be a second,
 * optional method.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { SubjectName } from '../../../spiffe/x509svid/profile.js';
import type { TrustDomain } from '../../../spiffe/spiffeid/index.js';

export interface MintX509CaRequest {
  trustDomain: TrustDomain;
  /** The new CA's public key; its private half stays in the key manager. */
  publicKey: KeyObject;
  /** The lifetime asked for; the upstream may shorten it, never beyond its own certificate. */
  ttlSeconds: number;
  now: Date;
  subject?: SubjectName;
}

export interface MintedX509Ca {
  /** The CA certificate for the request's public key, signed upstream. */
  certificate: X509Certificate;
  /** Upstream intermediates between `certificate` and the roots, nearest first: appended to SVID chains. */
  upstreamChain: X509Certificate[];
  /** The upstream trust anchors: what the trust domain's bundle publishes. */
  roots: X509Certificate[];
}

export interface UpstreamAuthority {
  readonly type: string;
  mintX509Ca(request: MintX509CaRequest): Promise<MintedX509Ca>;
}
