/**
 * X.509-SVID issuance by the server CA with a software P-256 key, against the raw P-256 signing
 * rate of this process as the baseline: an SVID costs one signature, so the ratio shows what the
 * profile, template and DER work add around it, one at a time and in batches of 100 CSR keys
 * (signatures then run on the thread pool side by side).
 *
 * Then the same with the CA key in a SoftHSM2 token (pkcs11 key manager), against SoftHSM's raw
 * C_Sign rate (one session, and as many sessions as the pool), measured in the same run: the goal
 * is issuance at ≥ 50 % of it.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { ServerCa } from '../../server/ca/ca.js';
import type { X509SvidRequest } from '../../server/ca/x509-issuer.js';
import { MemoryKeyManager } from '../../server/keymanager/memory/memory.js';
import { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { openDatastore } from '../../server/datastore/open.js';
import { Pkcs11KeyManager } from '../../server/keymanager/pkcs11/pkcs11.js';
import { createSoftHsmToken } from '../../test/support/softhsm.js';
import { measure, report } from '../lib/harness.js';
import { rawSigner } from './hsm.js';

const BATCH = 100;
const td = TrustDomain.fromString('example.org');
// The real datastore (in memory): the CA only touches it at start, never per SVID.
const datastore = await openDatastore('sqlite::memory:');
const ca = await ServerCa.start({
  trustDomain: td,
  keyManager: new MemoryKeyManager(),
  keyType: 'ec-p256',
  bundles: datastore.bundles,
  journals: datastore.caJournals,
  serverInstanceId: 'bench',
});

// Distinct keys and IDs, as an agent's CSRs would carry.
const requests: X509SvidRequest[] = Array.from({ length: BATCH }, (_, i) => ({
  spiffeId: SpiffeId.fromSegments(td, 'ns', 'bench', 'sa', `workload-${i}`),
  publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }),
}));
let next = 0;
const one = (): X509SvidRequest => requests[next++ % BATCH]!;

// The baseline signs what an SVID's signature covers: a TBSCertificate of the same size.
const sample = await ca.issueX509Svid(one());
const tbsSize = sample.certificates[0]!.raw.length - 80;
const tbs = Buffer.alloc(tbsSize, 7);
const raw = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const signAsync = (): Promise<Buffer> =>
  new Promise((resolve, reject) => sign('sha256', tbs, raw, (err, sig) => (err ? reject(err) : resolve(sig))));

const baseline = await measure('crypto.sign P-256 (sync, one at a time)', () => sign('sha256', tbs, raw));
const cases = [
  await measure(`crypto.sign P-256 (async, ${BATCH} in flight)`, () => Promise.all(Array.from({ length: BATCH }, signAsync)), {
    opsPerCall: BATCH,
  }),
  await measure('ServerCa.issueX509Svid (one at a time)', () => ca.issueX509Svid(one())),
  await measure(`ServerCa.issueX509Svids (${BATCH} CSR keys per call)`, () => ca.issueX509Svids(requests), { opsPerCall: BATCH }),
  await measure('ServerCa.issueJwtSvid (one at a time)', () =>
    ca.issueJwtSvid({ spiffeId: requests[next++ % BATCH]!.spiffeId, audience: ['bench'] })),
];
report(`ca: SVIDs signed per second, P-256 CA key in memory (TBS ≈ ${tbsSize} bytes)`, baseline, cases);
await datastore.close();

const SESSIONS = 4;
const token = createSoftHsmToken({ label: 'sigil-bench' });
token.useInProcess();
try {
  const hsmStore = await openDatastore('sqlite::memory:');
  const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ sessions: SESSIONS }));
  const hsmCa = await ServerCa.start({
    trustDomain: td, keyManager: km, keyType: 'ec-p256', bundles: hsmStore.bundles, journals: hsmStore.caJournals, serverInstanceId: 'bench',
  });
  const caKey = await km.getKey('x509-CA-A');
  const raw1 = await rawSigner(token.module, token.tokenLabel, 'sigil-x509-CA-A', tbs, 1);
  const rawN = await rawSigner(token.module, token.tokenLabel, 'sigil-x509-CA-A', tbs, SESSIONS);
  const PER_SESSION = 25;
  const hsmBaseline = await measure('SoftHSM raw C_Sign P-256 (1 session, one at a time)', () => raw1.signOnEach(1));
  const signer = caKey!.signer();
  const hsmCases = [
    await measure(`SoftHSM raw C_Sign P-256 (${SESSIONS} sessions side by side)`, () => rawN.signOnEach(PER_SESSION), {
      opsPerCall: PER_SESSION * SESSIONS,
    }),
    await measure(`pkcs11 Signer.sign (${BATCH} in flight)`, () => Promise.all(Array.from({ length: BATCH }, () => signer.sign(tbs))), {
      opsPerCall: BATCH,
    }),
    await measure('ServerCa.issueX509Svid, HSM key (one at a time)', () => hsmCa.issueX509Svid(one())),
    await measure(`ServerCa.issueX509Svids, HSM key (${BATCH} CSR keys per call)`, () => hsmCa.issueX509Svids(requests), { opsPerCall: BATCH }),
    await measure('ServerCa.issueJwtSvid, HSM key (one at a time)', () =>
      hsmCa.issueJwtSvid({ spiffeId: requests[next++ % BATCH]!.spiffeId, audience: ['bench'] })),
  ];
  report(`ca: SVIDs signed per second, P-256 CA key in a SoftHSM2 token (${SESSIONS} sessions)`, hsmBaseline, hsmCases);
  await raw1.close();
  await rawN.close();
  await km.close();
  await hsmStore.close();
} finally {
  token.cleanup();
}
