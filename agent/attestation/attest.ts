/**
 * The two ways the agent gets an SVID from the server: node attestation (Attest: the node
 * attestor's evidence is the credential; no client certificate) and renewal (Renew, called with
 * the current SVID). Both send only a CSR for a key made here, and check what comes back before
 * using it: the chain must verify against the bundle and certify that key.
 */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { messageOf } from '../../spiffe/errors.js';
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import type { ServerConnection } from '../client/connection.js';
import type { ServerTrust } from '../client/tls.js';
import { AgentSvidError, checkAgentSvid, newAgentKey, parseBundle, type AgentSvid } from './agent-svid.js';

export interface Attested {
  svid: AgentSvid;
  bundle: SpiffeBundle;
  bundleJson: string;
}

export async function attest(connection: ServerConnection, trust: ServerTrust, attestor: AgentNodeAttestor): Promise<Attested> {
  const td = connection.trustDomain;
  const { privateKey, csr } = newAgentKey();
  const issuedAtMs = Date.now();
  const client = connection.bootstrapClient(trust);
  let result;
  try {
    result = await client.attest(attestor, csr);
  } finally {
    client.close();
  }
  const bundleJson = result.bundle.toString('utf8');
  let bundle: SpiffeBundle;
  try {
    bundle = parseBundle(td, bundleJson);
  } catch (err) {
    throw new AgentSvidError(`the server sent a trust bundle that cannot be read: ${messageOf(err)}`, { cause: err });
  }
  const id = checkAgentSvid(td, result.svid_chain, privateKey, bundle, result.agent_id);
  return {
    svid: { id, chain: result.svid_chain, privateKey, reattestable: result.reattestable, expiresAt: Number(result.expires_at), issuedAtMs },
    bundle,
    bundleJson,
  };
}

export async function renew(connection: ServerConnection, current: AgentSvid, bundle: SpiffeBundle): Promise<AgentSvid> {
  const { privateKey, csr } = newAgentKey();
  const issuedAtMs = Date.now();
  const res = await connection.client().api.renew(csr);
  const id = checkAgentSvid(connection.trustDomain, res.svid_chain, privateKey, bundle, current.id);
  return { id, chain: res.svid_chain, privateKey, reattestable: current.reattestable, expiresAt: Number(res.expires_at), issuedAtMs };
}
