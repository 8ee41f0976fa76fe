/**
 * The agent's own X.509-SVID: the credential it presents on every call after attestation. It is
 * checked whenever it arrives (from the server, or from the data directory after a restart):
 * the chain verifies against the bundle as an SVID of the agent's trust domain, names an agent,
 * and certifies the public key of the private key held with it.
 */
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { messageOf, SigilError, Status } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { parseAndVerifyX509Svid } from '../../spiffe/x509svid/index.js';
import { buildCsr } from '../svid/csr.js';
import { ecEncodings } from '../svid/keys.js';

export interface AgentSvid {
  /** spiffe://<td>/sigil/agent/<attestor>/<id> */
  readonly id: string;
  /** DER, leaf first. */
  readonly chain: readonly Buffer[];
  readonly privateKey: KeyObject;
  readonly reattestable: boolean;
  /** Unix seconds. */
  readonly expiresAt: number;
  /** When the agent asked for it (ms): the start of its life for rotation. */
  readonly issuedAtMs: number;
}

export const AgentSvidErrorCode = {
  /** The SVID does not verify, names something else, or does not match its key. */
  invalid: 'SIGIL_AGENT_SVID_INVALID',
} as const;

export class AgentSvidError extends SigilError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(AgentSvidErrorCode.invalid, `agent SVID: ${message}`, { status: Status.FAILED_PRECONDITION, cause: options.cause });
  }
}

/** A fresh agent key (P-256, as SPIRE's agent uses) and a CSR for it. */
export function newAgentKey(): { privateKey: KeyObject; csr: Buffer } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const { pkcs8, spki } = ecEncodings('ec-p256', privateKey);
  return { privateKey, csr: buildCsr({ type: 'ec-p256', privateKey, pkcs8, spki }) };
}

export function parseBundle(td: TrustDomain, json: string | Uint8Array): SpiffeBundle {
  return SpiffeBundle.parse(td, json);
}

/**
 * Checks an SVID against `bundle` at `now`; `expectedId`, when given, must be its ID. Returns the
 * ID. Throws AgentSvidError saying what is wrong.
 */
export function checkAgentSvid(
  td: TrustDomain,
  chain: readonly Buffer[],
  privateKey: KeyObject,
  bundle: SpiffeBundle,
  expectedId?: string,
  now = new Date(),
): string {
  let id: string;
  try {
    id = parseAndVerifyX509Svid(chain, bundle, { time: now }).id.toString();
  } catch (err) {
    throw new AgentSvidError(`does not verify against the trust bundle: ${messageOf(err)}`, { cause: err });
  }
  const prefix = `${td.idString()}/sigil/agent/`;
  if (!id.startsWith(prefix)) throw new AgentSvidError(`names ${id}, which is not an agent of ${td.name}`);
  if (expectedId !== undefined && id !== expectedId) throw new AgentSvidError(`names ${id}, not ${expectedId}`);
  const certified = new X509Certificate(chain[0]!).publicKey.export({ type: 'spki', format: 'der' });
  const held = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!certified.equals(held)) throw new AgentSvidError('certifies a different public key than the private key kept with it');
  return id;
}
