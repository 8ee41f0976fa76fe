/**
 * The tpm attestor's server half without a TPM: a software TPM (test/support/soft-tpm.ts) on the
 * EK hash allow-list answers the credential and quotes; every check refuses what it must with a
 * message naming the problem. swtpm-backed suites are under test/integration/tpm/.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, sign } from 'node:crypto';
import fc from 'fast-check';
import type { NodeAttestorHost } from '../../../attestors/node/node-attestor.js';
import { decodeChallenge, encodePayload, encodeResponse, type TpmChallenge } from '../../../attestors/node/tpm/protocol.js';
import { chainProblem } from '../../../attestors/node/tpm/ek-cert.js';
import { TpmServerAttestor, withPolicy, type PcrPolicy } from '../../../attestors/node/tpm/server.js';
import { POLICY_B_SHA384 } from '../../../attestors/node/tpm/public-area.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { SoftTpm } from '../../support/soft-tpm.js';
import { issue, rootSpec } from '../../support/x509-certs.js';

const host: NodeAttestorHost = {
  trustDomain: TrustDomain.fromString('example.org'),
  now: () => new Date(),
  consumeJoinToken: async () => undefined,
};

const ekHashOf = (tpm: SoftTpm): string => createHash('sha256').update(tpm.ek.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

function server(tpm: SoftTpm, pcrPolicy: PcrPolicy = {}, allow = true): TpmServerAttestor {
  return new TpmServerAttestor({ ekCas: [], ekHashAllowList: allow ? [ekHashOf(tpm).toUpperCase()] : [], pcrPolicy });
}

function payload(tpm: SoftTpm, akPublic = tpm.akPublic()): Uint8Array {
  return encodePayload({ ekPublic: tpm.ekPublic, akPublic, pcrs: [{ bank: 'sha256', pcrs: [7, 0] }] });
}

/** An honest answer, bent by `bend` first. */
function answer(tpm: SoftTpm, bend: (c: TpmChallenge) => TpmChallenge = (c) => c): (c: Uint8Array) => Promise<Uint8Array> {
  return async (bytes) => {
    const c = bend(decodeChallenge(bytes));
    const secret = tpm.activate(c.credentialBlob, c.encryptedSecret);
    return encodeResponse({ secret, ...tpm.quote(c.nonce, c.pcrs), pcrValues: tpm.pcrValues(c.pcrs) });
  };
}

describe('attestors: tpm (server half, software TPM)', () => {
  it('attests an allow-listed EK without a certificate: agent path from the EK hash, PCR selectors', async () => {
    const tpm = new SoftTpm();
    tpm.pcrs[7] = Buffer.alloc(32, 7);
    const r = await server(tpm).attest(payload(tpm), host, answer(tpm));
    const hash = ekHashOf(tpm);
    assert.equal(r.agentPath, `tpm/${hash}`);
    assert.equal(r.canReattest, true);
    assert.deepEqual(r.selectors.map((s) => `${s.type}:${s.value}`), [
      `tpm:ek-hash:${hash}`,
      `tpm:pcr:sha256:0:${'00'.repeat(32)}`,
      `tpm:pcr:sha256:7:${'07'.repeat(32)}`,
    ]);
  });

  it('refuses an EK with neither a certificate nor a place on the allow-list, before any challenge', async () => {
    const tpm = new SoftTpm();
    let challenged = false;
    await assert.rejects(
      server(tpm, {}, false).attest(payload(tpm), host, async () => {
        challenged = true;
        return new Uint8Array();
      }),
      { code: 'SIGIL_NODEATTESTOR_DENIED', message: /the TPM sent no EK certificate and its EK hash [0-9a-f]{64} is not on the allow-list/ },
    );
    assert.equal(challenged, false);
  });

  it('refuses a credential that was not activated', async () => {
    const tpm = new SoftTpm();
    const wrong = async (bytes: Uint8Array): Promise<Uint8Array> => {
      const good = await answer(tpm)(bytes);
      const r = JSON.parse(Buffer.from(good).toString()) as Record<string, unknown>;
      r['secret'] = Buffer.alloc(32, 1).toString('base64');
      return Buffer.from(JSON.stringify(r));
    };
    await assert.rejects(server(tpm).attest(payload(tpm), host, wrong), /the credential was not activated/);
  });

  it('binds the credential to the AK name: another name cannot activate it', async () => {
    const tpm = new SoftTpm();
    const other = new SoftTpm();
    await assert.rejects(
      server(tpm).attest(payload(tpm), host, async (bytes) => {
        const c = decodeChallenge(bytes);
        return encodeResponse({ secret: tpm.activate(c.credentialBlob, c.encryptedSecret, other.akName), quoted: Buffer.alloc(0), signature: Buffer.alloc(0), pcrValues: {} });
      }),
      /TPM_RC_INTEGRITY/,
    );
  });

  it('refuses a quote over another nonce, a quote signed by another key, and changed PCR values', async () => {
    const tpm = new SoftTpm();
    await assert.rejects(
      server(tpm).attest(payload(tpm), host, answer(tpm, (c) => ({ ...c, nonce: Buffer.alloc(32) }))),
      /the quote is not over this attestation's nonce/,
    );
    const forger = new SoftTpm();
    await assert.rejects(
      server(tpm).attest(payload(tpm), host, async (bytes) => {
        const c = decodeChallenge(bytes);
        return encodeResponse({ secret: tpm.activate(c.credentialBlob, c.encryptedSecret), ...tpm.quote(c.nonce, c.pcrs, forger.ak.privateKey), pcrValues: tpm.pcrValues(c.pcrs) });
      }),
      /the quote signature does not verify with the activated AK/,
    );
    await assert.rejects(
      server(tpm).attest(payload(tpm), host, async (bytes) => {
        const good = JSON.parse(Buffer.from(await answer(tpm)(bytes)).toString()) as { pcrValues: Record<string, Record<string, string>> };
        good.pcrValues['sha256']!['0'] = '11'.repeat(32);
        return Buffer.from(JSON.stringify(good));
      }),
      /the PCR values sent do not match the digest the TPM quoted/,
    );
  });

  it('quotes the PCRs of the policy too, and refuses values that differ from it', async () => {
    const tpm = new SoftTpm();
    const policy: PcrPolicy = { sha256: { 16: '00'.repeat(32) } };
    assert.deepEqual(withPolicy([{ bank: 'sha256', pcrs: [0, 7] }], policy), [{ bank: 'sha256', pcrs: [0, 7, 16] }]);
    const ok = await server(tpm, policy).attest(payload(tpm), host, answer(tpm));
    assert.ok(ok.selectors.some((s) => s.value === `pcr:sha256:16:${'00'.repeat(32)}`));
    tpm.pcrs[16] = Buffer.alloc(32, 0xab);
    await assert.rejects(server(tpm, policy).attest(payload(tpm), host, answer(tpm)), {
      code: 'SIGIL_NODEATTESTOR_DENIED',
      message: `nodeattestor(tpm): PCR sha256:16 is ${'ab'.repeat(32)}; the PCR policy expects ${'00'.repeat(32)} (the measured boot differs)`,
    });
  });

  it('refuses malformed evidence as invalid: not JSON, unknown version, an AK that is not restricted', async () => {
    const tpm = new SoftTpm();
    const none = async (): Promise<Uint8Array> => new Uint8Array();
    await assert.rejects(server(tpm).attest(Buffer.from('nope'), host, none), { code: 'SIGIL_NODEATTESTOR_INVALID', message: /the payload is not JSON/ });
    await assert.rejects(server(tpm).attest(Buffer.from('{"v":2}'), host, none), /the payload is version 2; this side speaks 1/);
    const RESTRICTED = 0x00010000;
    await assert.rejects(server(tpm).attest(payload(tpm, tpm.akPublic(RESTRICTED)), host, none), /the AK is not a restricted signing key/);
    await assert.rejects(
      server(tpm).attest(encodePayload({ ekPublic: Buffer.of(0, 1, 2), akPublic: tpm.akPublic(), pcrs: [] }), host, none),
      /the EK public area cannot be read/,
    );
    const offCurve = tpm.akPublic();
    offCurve[offCurve.length - 1]! ^= 1;
    await assert.rejects(server(tpm).attest(payload(tpm, offCurve), host, none), { code: 'SIGIL_NODEATTESTOR_INVALID', message: /the AK public key cannot be read/ });
  });

  it('names the EK issuer only when the EK certificate chains to a manufacturer CA, not for an allow-listed TPM', async () => {
    const tpm = new SoftTpm();
    const vendorCa = issue(rootSpec({ cn: 'Some Vendor EK CA' }));
    const ekCert = issue({ cn: 'unknown', key: tpm.ek.privateKey, ca: false }, vendorCa).der;
    const certified = encodePayload({ ekCert, ekPublic: tpm.ekPublic, akPublic: tpm.akPublic(), pcrs: [] });
    const issuerCn = (sel: { value: string }[]): string[] => sel.filter((s) => s.value.startsWith('ek-issuer-cn:')).map((s) => s.value);

    const chained = await new TpmServerAttestor({ ekCas: [vendorCa.cert], ekHashAllowList: [], pcrPolicy: {} }).attest(certified, host, answer(tpm));
    assert.deepEqual(issuerCn(chained.selectors), ['ek-issuer-cn:Some Vendor EK CA']);
    // The allow-listed TPM made this certificate itself (any CA will do): it gets in, but not as that vendor.
    const allowListed = await server(tpm).attest(certified, host, answer(tpm));
    assert.equal(allowListed.agentPath, chained.agentPath);
    assert.deepEqual(issuerCn(allowListed.selectors), []);
  });

  it('chains an EK certificate to whichever configured copy of its CA is valid now (an expired one beside a re-issued one)', () => {
    const day = 86_400_000;
    const expired = issue(rootSpec({ cn: 'EK CA', notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) }));
    const reissued = issue(rootSpec({ cn: 'EK CA', key: expired.key }));
    const ek = issue({ cn: 'unknown', ca: false }, reissued).cert;
    const now = new Date();
    assert.equal(chainProblem(ek, [expired.cert, reissued.cert], now), undefined);
    assert.match(chainProblem(ek, [expired.cert], now) ?? '', /^the EK certificate's issuer CN=EK CA is not valid at /);
    assert.match(chainProblem(ek, [issue(rootSpec({ cn: 'EK CA' })).cert], now) ?? '', /is not signed by any configured manufacturer CA/);
  });

  it('refuses an AK with a policy (sigil makes none; only a TPM rule keeps an external public area from using one)', async () => {
    const tpm = new SoftTpm();
    const none = async (): Promise<Uint8Array> => new Uint8Array();
    const ADMIN_WITH_POLICY = 0x00000080;
    const expected = { code: 'SIGIL_NODEATTESTOR_INVALID', message: /the AK must have no authPolicy and adminWithPolicy clear/ };
    await assert.rejects(server(tpm).attest(payload(tpm, tpm.akPublic(ADMIN_WITH_POLICY)), host, none), expected);
    // TPMT_PUBLIC: type, nameAlg, objectAttributes (8 bytes), then authPolicy (empty in the template).
    const ak = tpm.akPublic();
    const withPolicy = Buffer.concat([ak.subarray(0, 8), Buffer.of(0, 32), Buffer.alloc(32, 0x5a), ak.subarray(10)]);
    await assert.rejects(server(tpm).attest(payload(tpm, withPolicy), host, none), expected);
  });

  it("refuses a quote signature whose hash is not the AK's scheme hash (SHA-1 instead of SHA-256)", async () => {
    const tpm = new SoftTpm();
    await assert.rejects(
      server(tpm).attest(payload(tpm), host, async (bytes) => {
        const c = decodeChallenge(bytes);
        const { quoted } = tpm.quote(c.nonce, c.pcrs);
        const sig = sign('sha1', quoted, { key: tpm.ak.privateKey, dsaEncoding: 'ieee-p1363' });
        const ECDSA = [0x00, 0x18];
        const SHA1 = [0x00, 0x04];
        const signature = Buffer.concat([Buffer.of(...ECDSA, ...SHA1, 0, 32), sig.subarray(0, 32), Buffer.of(0, 32), sig.subarray(32)]);
        return encodeResponse({ secret: tpm.activate(c.credentialBlob, c.encryptedSecret), quoted, signature, pcrValues: tpm.pcrValues(c.pcrs) });
      }),
      { code: 'SIGIL_NODEATTESTOR_INVALID', message: /signed with sha1, not the AK's scheme hash sha256/ },
    );
  });

  it('refuses bent evidence (cut, lengthened, a TPM2B length of 0xffff, a flipped bit) with a NodeAttestorError, never another error', async () => {
    const tpm = new SoftTpm();
    const bend = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('ffff' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    );
    type Bend = typeof bend extends fc.Arbitrary<infer T> ? T : never;
    const apply = (b: Uint8Array, m: Bend): Buffer => {
      const out = Buffer.from(b);
      if (m.kind === 'cut') return out.subarray(0, m.at % out.length);
      if (m.kind === 'append') return Buffer.concat([out, m.bytes]);
      const at = m.at % (out.length - 1);
      if (m.kind === 'ffff') out.writeUInt16BE(0xffff, at);
      else out[at]! ^= 1 << m.bit;
      return out;
    };
    // Of the EK public area the server trusts the key alone (its attributes are the agent's claim), so a
    // changed attribute may pass: it only gets cut and lengthened. Everything else the TPM signed or
    // named, so any change must be refused.
    const target = fc.constantFrom('ekPublic', 'akPublic', 'quoted', 'signature');
    await fc.assert(
      fc.asyncProperty(target, bend, async (where, m) => {
        fc.pre(where !== 'ekPublic' || m.kind === 'cut' || m.kind === 'append');
        const ekPublic = where === 'ekPublic' ? apply(tpm.ekPublic, m) : tpm.ekPublic;
        const akPublic = where === 'akPublic' ? apply(tpm.akPublic(), m) : tpm.akPublic();
        const evidence = encodePayload({ ekPublic, akPublic, pcrs: [{ bank: 'sha256', pcrs: [0, 7] }] });
        const attempt = server(tpm).attest(evidence, host, async (bytes) => {
          const c = decodeChallenge(bytes);
          let secret: Buffer;
          try {
            secret = tpm.activate(c.credentialBlob, c.encryptedSecret);
          } catch {
            secret = randomBytes(32); // the soft TPM, like a real one, cannot activate for a bent AK
          }
          const { quoted, signature } = tpm.quote(c.nonce, c.pcrs);
          return encodeResponse({
            secret,
            quoted: where === 'quoted' ? apply(quoted, m) : quoted,
            signature: where === 'signature' ? apply(signature, m) : signature,
            pcrValues: tpm.pcrValues(c.pcrs),
          });
        });
        await assert.rejects(attempt, (err: Error & { code?: string }) => {
          assert.match(String(err.code), /^SIGIL_NODEATTESTOR_(INVALID|DENIED)$/, `${where} ${JSON.stringify(m)}: ${err.stack}`);
          assert.match(err.message, /^nodeattestor\(tpm\): /);
          return true;
        });
      }),
      { numRuns: 300, seed: 6 },
    );
  });

  it('rebuilds the H-3 EK policy B from A and C as the TPM does', () => {
    assert.equal(POLICY_B_SHA384.toString('hex').slice(0, 8), 'b26e7d28');
    assert.equal(POLICY_B_SHA384.toString('hex').slice(-8), 'f3f80e12');
  });
});
