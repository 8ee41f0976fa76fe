/** Agents as spire-server prints them. */
import type { AgentMsg } from '../../api/admin/messages.js';
import { block, formatTime } from '../output.js';

export function agentText(a: AgentMsg): string {
  return block([
    ['SPIFFE ID', a.spiffe_id],
    ['Attestation type', a.attestation_type],
    ['Expiration time', formatTime(Number(a.x509svid_expires_at))],
    ['Serial number', a.x509svid_serial_number],
    ['Can re-attest', String(a.can_reattest)],
    ['Banned', String(a.banned)],
    ['Agent version', a.agent_version === '' ? undefined : a.agent_version],
    ['Selectors', a.selectors.map((s) => `${s.type}:${s.value}`)],
  ]);
}

export function agentJson(a: AgentMsg): Record<string, unknown> {
  return {
    id: a.spiffe_id,
    attestation_type: a.attestation_type,
    x509svid_serial_number: a.x509svid_serial_number,
    x509svid_expires_at: Number(a.x509svid_expires_at),
    selectors: a.selectors.map((s) => ({ type: s.type, value: s.value })),
    banned: a.banned,
    can_reattest: a.can_reattest,
    agent_version: a.agent_version,
  };
}
