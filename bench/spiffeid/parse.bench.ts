/**
 * SPIFFE ID parsing, against WHATWG URL parsing of the same strings as the baseline: parsing runs
 * for every entry, CSR and certificate the server and agent touch, so it must cost less than URL.
 */
import { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { measure, report } from '../lib/harness.js';

const ids = Array.from({ length: 1024 }, (_, i) => `spiffe://example.org/ns/team-${i % 37}/sa/workload-${i}`);
let i = 0;
const next = (): string => ids[i++ & 1023] ?? '';

const baseline = await measure('new URL(id)', () => new URL(next()));
const parse = await measure('SpiffeId.fromString(id)', () => SpiffeId.fromString(next()));
const td = await measure('TrustDomain.fromString(id)', () => TrustDomain.fromString(next()));
report('spiffeid: parse rate (baseline: WHATWG URL parser on the same strings)', baseline, [parse, td]);
