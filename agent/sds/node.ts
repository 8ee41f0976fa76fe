/**
 * What SPIRE reads from the Envoy node of a request: whether this Envoy wants the SPIFFE certificate
 * validator turned off (node metadata `disable_spiffe_cert_validation`, bool or a string Go's
 * strconv.ParseBool accepts), and whether it is recent enough to have the validator (1.18 or later;
 * an Envoy that reports no build version is assumed to, as SPIRE has since v1.8.5).
 */
import type { NodeMsg } from './messages.js';

export const METADATA_DISABLE_KEY = 'disable_spiffe_cert_validation';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The node's own choice, or undefined when it states none (or states it in a form SPIRE ignores). */
export function metadataDisablesValidator(node: NodeMsg | null | undefined): boolean | undefined {
  const v = node?.metadata?.fields?.[METADATA_DISABLE_KEY];
  if (v === undefined) return undefined;
  if ('boolValue' in v) return v.boolValue;
  if ('stringValue' in v) {
    if (TRUE.has(v.stringValue)) return true;
    if (FALSE.has(v.stringValue)) return false;
  }
  return undefined;
}

/** Envoy added the SPIFFE validator in 1.18. */
export function supportsSpiffeValidator(node: NodeMsg | null | undefined): boolean {
  const v = node?.user_agent_build_version?.version;
  if (v === undefined || v === null) return true;
  return v.major_number > 1 || (v.major_number === 1 && v.minor_number >= 18);
}

/** Whether validation contexts for this node use the SPIFFE validator (else plain trusted_ca). */
export function useSpiffeValidator(node: NodeMsg | null | undefined, disabledByConfig: boolean): boolean {
  const disabled = metadataDisablesValidator(node) ?? disabledByConfig;
  return !disabled && supportsSpiffeValidator(node);
}
