/**
 * How the agent trusts the server: not by host name but as SPIFFE does, by the server's X.509-SVID
 * chaining to the trust domain's authorities and naming `spiffe://<td>/sigil/server`.
 *
 * grpc-js 1.14 takes a Node SecureContext plus `checkServerIdentity`. OpenSSL checks the chain
 * against the bundle's authorities first, then checkServerIdentity runs spiffe/'s verifyX509Svid
 * on the presented chain (the SPIFFE rules OpenSSL does not know: URI SAN, no CA leaf, key usage)
 * and requires the server ID; the host name is never compared, so the server may be dialled by IP.
 *
 * Insecure bootstrap (SPIRE's insecure_bootstrap) has no authorities to give OpenSSL, and Node
 * never calls checkServerIdentity when its own verification fails (rejectUnauthorized: false would
 * then accept anything unchecked). So the agent first reads the server's certificate on a plain
 * TLS connection, requires the server ID in it, and pins exactly that certificate as the only
 * trust anchor (allowPartialTrustChain, Node ≥ 20.18) for the connection that attests. A different
 * certificate on the second connection fails the handshake; the chain itself is never checked.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { connect, createSecureContext, type PeerCertificate } from 'node:tls';
import { ChannelCredentials } from '@grpc/grpc-js';
import { messageOf } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { X509Bundle } from '../../spiffe/bundle/index.js';
import { encodePem } from '../../spiffe/internal/pem.js';
import { parseAndVerifyX509Svid } from '../../spiffe/x509svid/index.js';
import type { HostPort } from '../config/index.js';
import { AgentClientError, AgentClientErrorCode } from './errors.js';

/** The agent's own SVID, presented as its client certificate on every call but Attest. */
export interface ClientIdentity {
  /** DER, leaf first. */
  chain: readonly Buffer[];
  privateKey: KeyObject;
}

export type ServerTrust =
  | { kind: 'bundle'; authorities: readonly X509Certificate[] }
  /** The one certificate a probe found (insecure bootstrap). */
  | { kind: 'pinned'; certificate: X509Certificate };

export function serverIdOf(td: TrustDomain): string {
  return `${td.idString()}/sigil/server`;
}

/** The certificates a TLS peer sent, leaf first, as DER. */
export function peerChain(cert: PeerCertificate): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  // Node links each certificate to its issuer, ending at a self-signed one that links to itself.
  for (let c: PeerCertificate | undefined = cert; c?.raw !== undefined; c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate) {
    if (seen.has(c.fingerprint256)) break;
    seen.add(c.fingerprint256);
    chain.push(c.raw);
  }
  return chain;
}

/** The URI SANs of a certificate, from Node's text form (SPIFFE IDs contain no separators it escapes). */
function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

function requireServerId(td: TrustDomain, cert: X509Certificate): Error | undefined {
  const expected = serverIdOf(td);
  const ids = uriSans(cert);
  if (ids.length === 1 && ids[0] === expected) return undefined;
  return new AgentClientError(
    AgentClientErrorCode.untrusted,
    `the server's certificate names ${ids.length === 0 ? 'no SPIFFE ID' : ids.join(', ')}, not ${expected}`,
  );
}

export function channelCredentials(td: TrustDomain, trust: ServerTrust, identity?: ClientIdentity): ChannelCredentials {
  const ca = trust.kind === 'bundle' ? trust.authorities.map((c) => c.toString()) : [trust.certificate.toString()];
  const context = createSecureContext({
    ca,
    key: identity?.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    cert: identity?.chain.map((der) => encodePem('CERTIFICATE', der)).join(''),
    minVersion: 'TLSv1.2',
    allowPartialTrustChain: trust.kind === 'pinned',
  });
  const check =
    trust.kind === 'bundle'
      ? (cert: PeerCertificate): Error | undefined => verifyServer(td, trust.authorities, peerChain(cert))
      : (cert: PeerCertificate): Error | undefined =>
          cert.fingerprint256 === trust.certificate.fingerprint256
            ? requireServerId(td, trust.certificate)
            : new AgentClientError(AgentClientErrorCode.untrusted, 'the server presented a different certificate than the one probed');
  return ChannelCredentials.createFromSecureContext(context, { checkServerIdentity: (_host, cert) => check(cert) });
}

/** SPIFFE verification of the server's chain against the bundle, then its ID. */
export function verifyServer(td: TrustDomain, authorities: readonly X509Certificate[], chain: readonly Buffer[]): Error | undefined {
  try {
    const { id } = parseAndVerifyX509Svid(chain, new X509Bundle(td, authorities));
    if (id.toString() !== serverIdOf(td)) {
      return new AgentClientError(AgentClientErrorCode.untrusted, `the server's SVID is ${id.toString()}, not ${serverIdOf(td)}`);
    }
    return undefined;
  } catch (err) {
    return new AgentClientError(AgentClientErrorCode.untrusted, `the server's certificate is not a valid SVID of ${td.name}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/** SNI must not be an IP address (RFC 6066; Node warns); the server ignores it, so an IP is replaced by the trust domain name. */
export function serverName(address: HostPort, td: TrustDomain): string {
  return /^[\d.]+$/.test(address.host) || address.host.includes(':') ? td.name : address.host;
}

/**
 * Insecure bootstrap's first look at the server: its leaf certificate, which must carry the server
 * ID. Nothing is sent but a TLS ClientHello.
 */
export async function probeServerCertificate(address: HostPort, td: TrustDomain, timeoutMs = 30_000): Promise<X509Certificate> {
  const chain = await new Promise<Buffer[]>((resolve, reject) => {
    const socket = connect({
      host: address.host,
      port: address.port,
      servername: serverName(address, td),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      const peer = peerChain(socket.getPeerCertificate(true));
      socket.destroy();
      resolve(peer);
    });
    socket.once('error', reject);
  }).catch((err: unknown) => {
    throw new AgentClientError(
      AgentClientErrorCode.unavailable,
      `cannot reach the server at ${address.host}:${address.port}: ${messageOf(err)}`,
      { cause: err },
    );
  });
  if (chain[0] === undefined) throw new AgentClientError(AgentClientErrorCode.untrusted, 'the server presented no certificate');
  const leaf = new X509Certificate(chain[0]);
  const problem = requireServerId(td, leaf);
  if (problem !== undefined) throw problem;
  return leaf;
}

/** For logs: which certificate insecure bootstrap pinned. */
export function fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}
