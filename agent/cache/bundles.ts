/** Trust bundles in the two encodings the workload APIs serve, made once per bundle change. */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import type { BundleView } from './workload-view.js';

export function bundleView(bundle: SpiffeBundle): BundleView {
  return Object.freeze({
    trustDomain: bundle.trustDomain.name,
    x509Der: Buffer.concat(bundle.x509Authorities().map((c) => c.raw)),
    jwksJson: Buffer.from(bundle.jwtBundle().marshal()),
  });
}

/** Before the agent has a bundle (not attested yet): no authorities at all. */
export function emptyBundleView(trustDomain: string): BundleView {
  return Object.freeze({ trustDomain, x509Der: Buffer.alloc(0), jwksJson: Buffer.from('{"keys":[]}') });
}

export function sameBundleView(a: BundleView, b: BundleView): boolean {
  return a === b || (a.trustDomain === b.trustDomain && a.x509Der.equals(b.x509Der) && a.jwksJson.equals(b.jwksJson));
}
