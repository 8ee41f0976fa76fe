import type { X509Svid } from './svid.js';

/**
 * Where a workload's own X509-SVID comes from (go-spiffe's x509svid.Source): a static SVID, a
 * file, or the live Workload API. Throws when no SVID is available.
 */
export interface X509SvidSource {
  getX509Svid(): X509Svid;
}
