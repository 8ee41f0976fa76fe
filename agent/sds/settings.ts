/**
 * The SDS resource names and validator choice an operator may change, as SPIRE's agent `sds` block
 * does (default_svid_name, default_bundle_name, default_all_bundles_name,
 * disable_spiffe_cert_validation). The agent config fills them in (agent/config, key `sds`).
 */
export interface SdsSettings {
  /** Names the caller's first SVID (entry order). SPIRE: "default". */
  defaultSvidName: string;
  /** Names the agent's own trust domain bundle. SPIRE: "ROOTCA". */
  defaultBundleName: string;
  /** Names one validation context holding every bundle the caller may use. SPIRE: "ALL". */
  defaultAllBundlesName: string;
  /** Send plain trusted_ca instead of Envoy's SPIFFE validator; Envoy node metadata may override it. */
  disableSpiffeCertValidation: boolean;
}

export const DEFAULT_SDS_SETTINGS: Readonly<SdsSettings> = Object.freeze({
  defaultSvidName: 'default',
  defaultBundleName: 'ROOTCA',
  defaultAllBundlesName: 'ALL',
  disableSpiffeCertValidation: false,
});

/**
 * Why a set of names cannot work, or undefined. The aliases must differ from each other (SPIRE lets
 * the two bundle names be equal and then ignores ALL; sigil says so at start instead) and must not
 * look like SPIFFE IDs, which would shadow a trust domain or an identity of that name.
 */
export function settingsProblems(s: SdsSettings): string[] {
  const problems: string[] = [];
  const names: [string, string][] = [
    ['defaultSvidName', s.defaultSvidName],
    ['defaultBundleName', s.defaultBundleName],
    ['defaultAllBundlesName', s.defaultAllBundlesName],
  ];
  for (const [key, value] of names) {
    if (value.trim() === '') problems.push(`sds.${key}: must not be empty`);
    else if (value.toLowerCase().startsWith('spiffe://')) problems.push(`sds.${key}: ${JSON.stringify(value)} must not be a SPIFFE ID: those names are taken by trust domains and identities`);
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (names[i]![1] === names[j]![1] && names[i]![1].trim() !== '') {
        problems.push(`sds.${names[j]![0]}: ${JSON.stringify(names[j]![1])} is already the name of sds.${names[i]![0]}; give each a different name`);
      }
    }
  }
  return problems;
}
