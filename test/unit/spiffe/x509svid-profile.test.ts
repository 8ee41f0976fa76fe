import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  ECDH, X509Certificate, createPrivateKey, generateKeyPairSync, sign as cryptoSign, webcrypto, type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { X509ProfileError } from '../../../spiffe/x509svid/profile-errors.js';
import {
  BACKDATE_SECONDS, assembleCertificate, caTemplate, encodeTbs, issueCertificate, issueCertificateDer,
  leafTemplate, newSerial, validityWindow, type CertificateTemplate, type LeafTemplateOptions,
} from '../../../spiffe/x509svid/profile.js';
import {
  ecdsaP1363ToDer, publicKeyFrom, softwareSigner, subjectKeyIdentifier, type KeyKind, type SignatureAlgorithm,
  type Signer,
} from '../../../spiffe/x509svid/signer.js';
import { issue, rootSpec } from '../../support/x509-certs.js';

const TD = TrustDomain.fromString('example.org');
const WORKLOAD = SpiffeId.fromString('spiffe://example.org/ns/default/sa/web');
const NOW = new Date('2030-03-01T12:00:00.250Z');
const CA_WINDOW = validityWindow(NOW, 24 * 3600);
const LEAF_WINDOW = validityWindow(NOW, 3600);

type Pair = { publicKey: KeyObject; privateKey: KeyObject };
function keyPair(kind: KeyKind): Pair {
  if (kind === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  return generateKeyPairSync('ec', { namedCurve: kind === 'ec-p256' ? 'P-256' : 'P-384' });
}

const SIGALG: Record<KeyKind, SignatureAlgorithm> = {
  'ec-p256': 'ecdsa-with-SHA256',
  'ec-p384': 'ecdsa-with-SHA384',
  rsa: 'sha256WithRSAEncryption',
};

async function selfSigned(pair: Pair): Promise<X509Certificate> {
  return issueCertificate(caTemplate({ trustDomain: TD, publicKey: pair.publicKey, ...CA_WINDOW }), softwareSigner(pair.privateKey));
}

function leafOptions(ca: X509Certificate, publicKey: KeyObject | Uint8Array, extra: Partial<LeafTemplateOptions> = {}): LeafTemplateOptions {
  return { id: WORKLOAD, publicKey, issuer: ca, ...LEAF_WINDOW, ...extra };
}

const colonHex = (b: Buffer): string => b.toString('hex').toUpperCase().match(/../g)!.join(':');

let dir: string;
function openssl(...args: string[]): string {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
function pem(name: string, cert: X509Certificate): string {
  writeFileSync(join(dir, name), cert.toString());
  return name;
}
/** openssl verify at NOW: the fixed test clock, not the machine's. */
function verifyAtNow(...args: string[]): string {
  return openssl('verify', '-attime', String(Math.floor(NOW.getTime() / 1000)), ...args);
}
/** The text `openssl x509 -text` prints on the line after an extension's header. */
function extension(text: string, header: string): { critical: boolean; value: string } | undefined {
  const m = new RegExp(`${header}:( critical)?\\s*\\n\\s*(.*)`).exec(text);
  return m === null ? undefined : { critical: m[1] !== undefined, value: m[2]!.trim() };
}

describe('x509svid profile', () => {
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-x509-profile-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('issuance per key type', () => {
  for (const kind of ['ec-p256', 'ec-p384', 'rsa'] as const) {
    describe(kind, () => {
      let caPair: Pair;
      let ca: X509Certificate;
      let leafPair: Pair;
      let leaf: X509Certificate;
      let template: CertificateTemplate;

      before(async () => {
        caPair = keyPair(kind);
        ca = await selfSigned(caPair);
        leafPair = keyPair(kind);
        template = leafTemplate(leafOptions(ca, leafPair.publicKey, { dnsNames: ['web.example.org', '*.web.example.org'] }));
        leaf = await issueCertificate(template, softwareSigner(caPair.privateKey));
      });

      it('issues a self-signed CA that node accepts', () => {
        assert.equal(ca.ca, true);
        assert.ok(ca.verify(caPair.publicKey));
        assert.ok(ca.checkIssued(ca));
        assert.equal(ca.subjectAltName, 'URI:spiffe://example.org');
        assert.equal(ca.subject, `C=US\nO=SIGIL\nserialNumber=${BigInt('0x' + ca.serialNumber)}`);
        assert.equal(Date.parse(ca.validFrom), NOW.getTime() - 250 - BACKDATE_SECONDS * 1000);
        assert.equal(Date.parse(ca.validTo), NOW.getTime() - 250 + 24 * 3600 * 1000);
      });

      it('prints the CA profile in openssl', () => {
        const text = openssl('x509', '-noout', '-text', '-in', pem('ca.pem', ca));
        assert.match(text, new RegExp(`Signature Algorithm: ${SIGALG[kind]}`));
        assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:TRUE' });
        assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Certificate Sign, CRL Sign' });
        assert.deepEqual(extension(text, 'X509v3 Subject Alternative Name'), { critical: false, value: 'URI:spiffe://example.org' });
        assert.equal(extension(text, 'X509v3 Subject Key Identifier')?.value, colonHex(subjectKeyIdentifier(ca.publicKey.export({ type: 'spki', format: 'der' }))));
        assert.equal(extension(text, 'X509v3 Authority Key Identifier'), undefined);
        assert.doesNotMatch(text, /Extended Key Usage/);
        assert.match(verifyAtNow('-CAfile', 'ca.pem', 'ca.pem'), /ca\.pem: OK/);
      });

      it('issues a leaf that node verifies against the CA', () => {
        assert.equal(leaf.ca, false);
        assert.ok(leaf.verify(ca.publicKey));
        assert.ok(leaf.checkIssued(ca));
        assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/ns/default/sa/web, DNS:web.example.org, DNS:*.web.example.org');
        assert.equal(leaf.subject, 'C=US\nO=SIGIL\nCN=web.example.org');
        assert.equal(leaf.issuer, ca.subject);
        assert.equal(leaf.serialNumber, template.serial.toString('hex').toUpperCase());
        assert.equal(Date.parse(leaf.validFrom), LEAF_WINDOW.notBefore.getTime());
        assert.equal(Date.parse(leaf.validTo), LEAF_WINDOW.notAfter.getTime());
        assert.ok(leaf.publicKey.equals(leafPair.publicKey));
      });

      it('prints the leaf profile in openssl and passes openssl verify for TLS purposes', () => {
        const text = openssl('x509', '-noout', '-text', '-in', pem('leaf.pem', leaf));
        pem('ca.pem', ca);
        assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:FALSE' });
        const ku = kind === 'rsa' ? 'Digital Signature, Key Encipherment' : 'Digital Signature';
        assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: ku });
        assert.deepEqual(extension(text, 'X509v3 Extended Key Usage'), {
          critical: false,
          value: 'TLS Web Server Authentication, TLS Web Client Authentication',
        });
        assert.deepEqual(extension(text, 'X509v3 Subject Alternative Name'), {
          critical: false,
          value: 'URI:spiffe://example.org/ns/default/sa/web, DNS:web.example.org, DNS:*.web.example.org',
        });
        assert.equal(extension(text, 'X509v3 Subject Key Identifier')?.value, colonHex(template.subjectKeyId));
        const caText = openssl('x509', '-noout', '-text', '-in', 'ca.pem');
        assert.equal(extension(text, 'X509v3 Authority Key Identifier')?.value, extension(caText, 'X509v3 Subject Key Identifier')?.value);
        for (const purpose of ['any', 'sslserver', 'sslclient']) {
          assert.match(verifyAtNow('-CAfile', 'ca.pem', '-purpose', purpose, 'leaf.pem'), /leaf\.pem: OK/);
        }
      });

      it('writes the extensions in template order, with the URI SAN first', () => {
        const text = openssl('x509', '-noout', '-text', '-in', pem('leaf.pem', leaf));
        assert.deepEqual(
          [...text.matchAll(/X509v3 ([A-Z][A-Za-z ]+):/g)].map((m) => m[1]),
          ['Basic Constraints', 'Key Usage', 'Extended Key Usage', 'Subject Key Identifier', 'Authority Key Identifier', 'Subject Alternative Name'],
        );
        assert.deepEqual(template.extensions.map((e) => e.oid), ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '2.5.29.17']);
      });

      it('embeds the TBS that encodeTbs produces, so batch callers get the same bytes', () => {
        const tbs = encodeTbs(template, SIGALG[kind]);
        assert.ok(leaf.raw.includes(tbs));
        assert.equal(leaf.raw.indexOf(tbs), 4);
      });
    });
  }
});

describe('subject keys', () => {
  it('builds the same SPKI bytes OpenSSL exports, from KeyObjects and from DER', () => {
    for (const kind of ['ec-p256', 'ec-p384', 'rsa'] as const) {
      for (let i = 0; i < (kind === 'rsa' ? 2 : 20); i++) {
        const { publicKey, privateKey } = keyPair(kind);
        const want = publicKey.export({ type: 'spki', format: 'der' });
        assert.deepEqual(publicKeyFrom(publicKey).spki, want, kind);
        assert.deepEqual(publicKeyFrom(privateKey).spki, want, kind);
        assert.deepEqual(publicKeyFrom(want).spki, want, kind);
        assert.equal(publicKeyFrom(want).kind, kind);
      }
    }
  });

  it('takes SPKI DER without a full key decode: compressed points expand, off-curve points fail', () => {
    const { publicKey } = keyPair('ec-p256');
    const want = publicKey.export({ type: 'spki', format: 'der' });
    const point = want.subarray(want.length - 65);
    const compressed = ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const head = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
    assert.deepEqual(publicKeyFrom(Buffer.concat([head, compressed])).spki, want);
    const offCurve = Buffer.from(want);
    offCurve[offCurve.length - 1]! ^= 1;
    assert.throws(() => publicKeyFrom(offCurve), /not a point on ec-p256/);
    assert.throws(() => publicKeyFrom(Buffer.concat([want, Buffer.from([0])])), /not valid SPKI DER/);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => publicKeyFrom(ed), /unsupported key type "ed25519"/);
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => publicKeyFrom(pss), /unsupported key type "rsa-pss"/);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => publicKeyFrom(p521), /unsupported EC curve/);
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => publicKeyFrom(rsa1024), /at least 2048 bits/);
  });

  it('sets Key Encipherment from the subject key, not the issuer key (RSA leaf under EC CA and back)', async () => {
    const ecPair = keyPair('ec-p256');
    const ecCa = await selfSigned(ecPair);
    const rsaLeafKey = keyPair('rsa').publicKey.export({ type: 'spki', format: 'der' });
    const rsaLeaf = await issueCertificate(leafTemplate(leafOptions(ecCa, rsaLeafKey)), softwareSigner(ecPair.privateKey));
    const text = openssl('x509', '-noout', '-text', '-in', pem('rsa-leaf.pem', rsaLeaf));
    assert.equal(extension(text, 'X509v3 Key Usage')?.value, 'Digital Signature, Key Encipherment');
    const rsaPair = keyPair('rsa');
    const rsaCa = await selfSigned(rsaPair);
    const ecLeaf = await issueCertificate(leafTemplate(leafOptions(rsaCa, keyPair('ec-p256').publicKey)), softwareSigner(rsaPair.privateKey));
    assert.equal(extension(openssl('x509', '-noout', '-text', '-in', pem('ec-leaf.pem', ecLeaf)), 'X509v3 Key Usage')?.value, 'Digital Signature');
  });

  it('rejects keys outside P-256, P-384 and RSA-2048+', () => {
    const bad = [
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    ];
    for (const k of bad) assert.throws(() => publicKeyFrom(k), X509ProfileError);
    assert.throws(() => publicKeyFrom(Buffer.from('3000', 'hex')), /public key is not valid SPKI DER/);
    assert.throws(() => softwareSigner(keyPair('ec-p256').publicKey), /needs a private key/);
  });
});

describe('chains', () => {
  it('issues root -> intermediate -> leaf that openssl verifies with -untrusted', async () => {
    const rootPair = keyPair('ec-p384');
    const root = await selfSigned(rootPair);
    const interPair = keyPair('ec-p256');
    const inter = await issueCertificate(
      caTemplate({ trustDomain: TD, publicKey: interPair.publicKey, issuer: root, maxPathLen: 0, ...validityWindow(NOW, 12 * 3600) }),
      softwareSigner(rootPair.privateKey),
    );
    const leaf = await issueCertificate(leafTemplate(leafOptions(inter, keyPair('ec-p256').publicKey)), softwareSigner(interPair.privateKey));
    assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey));
    assert.ok(leaf.checkIssued(inter) && leaf.verify(inter.publicKey));
    assert.equal(inter.issuer, root.subject);
    pem('root.pem', root);
    pem('inter.pem', inter);
    pem('leaf.pem', leaf);
    assert.match(verifyAtNow('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-purpose', 'any', 'leaf.pem'), /leaf\.pem: OK/);
    const text = openssl('x509', '-noout', '-text', '-in', 'inter.pem');
    assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:TRUE, pathlen:0' });
    const rootText = openssl('x509', '-noout', '-text', '-in', 'root.pem');
    assert.equal(extension(text, 'X509v3 Authority Key Identifier')?.value, extension(rootText, 'X509v3 Subject Key Identifier')?.value);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
  });

  it('chains under a foreign root made by openssl, copying its subject bytes verbatim', async () => {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'up.key',
      '-out', 'up.pem', '-days', '3650', '-subj', '/C=DE/O=Upstream Org/CN=Upstream Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    const upstream = new X509Certificate(readFileSync(join(dir, 'up.pem')));
    const upKey = createPrivateKey(readFileSync(join(dir, 'up.key')));
    const interPair = keyPair('ec-p256');
    const window = validityWindow(new Date(), 3600, { notAfterCap: new Date(upstream.validTo) });
    const inter = await issueCertificate(
      caTemplate({ trustDomain: TD, publicKey: interPair.publicKey, issuer: upstream, ...window }), softwareSigner(upKey));
    const leaf = await issueCertificate(leafTemplate({ ...leafOptions(inter, keyPair('ec-p256').publicKey), ...window }), softwareSigner(interPair.privateKey));
    pem('inter.pem', inter);
    pem('leaf.pem', leaf);
    assert.match(openssl('verify', '-CAfile', 'up.pem', '-untrusted', 'inter.pem', 'leaf.pem'), /leaf\.pem: OK/);
    // The 6th TBSCertificate field (depth 2) is the subject: read its bytes off openssl asn1parse.
    const fields = [...openssl('asn1parse', '-in', 'up.pem').matchAll(/^\s*(\d+):d=2\s+hl=(\d+) l=\s*(\d+)/gm)];
    const [at, hl, l] = fields[5]!.slice(1).map(Number) as [number, number, number];
    assert.equal(inter.issuer, upstream.subject);
    assert.ok(inter.raw.includes(upstream.raw.subarray(at, at + hl + l)));
  });

  it('derives the AKI from the issuer key when the issuer has no SKI', async () => {
    const pair = keyPair('ec-p256');
    const t = caTemplate({ trustDomain: TD, publicKey: pair.publicKey, ...CA_WINDOW });
    const noSki = { ...t, extensions: t.extensions.filter((e) => e.oid !== '2.5.29.14') };
    const ca = await issueCertificate(noSki, softwareSigner(pair.privateKey));
    const leafT = leafTemplate(leafOptions(ca, keyPair('ec-p256').publicKey));
    assert.deepEqual(leafT.authorityKeyId, t.subjectKeyId);
    const leaf = await issueCertificate(leafT, softwareSigner(pair.privateKey));
    const text = openssl('x509', '-noout', '-text', '-in', pem('leaf.pem', leaf));
    assert.equal(extension(text, 'X509v3 Authority Key Identifier')?.value, colonHex(t.subjectKeyId));
    assert.equal(extension(openssl('x509', '-noout', '-text', '-in', pem('ca.pem', ca)), 'X509v3 Subject Key Identifier'), undefined);
  });
});

describe('signers', () => {
  it('accepts raw r||s from a WebCrypto-style signer once converted with ecdsaP1363ToDer', async () => {
    const pair = keyPair('ec-p256');
    const ca = await selfSigned(pair);
    const subtleKey = await webcrypto.subtle.importKey(
      'pkcs8', pair.privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const raw = async (data: Uint8Array): Promise<Uint8Array> =>
      new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, subtleKey, data));
    const template = leafTemplate(leafOptions(ca, keyPair('ec-p256').publicKey));
    const good: Signer = { algorithm: 'ecdsa-with-SHA256', sign: async (d) => ecdsaP1363ToDer(await raw(d)) };
    assert.ok((await issueCertificate(template, good, { verify: true })).verify(ca.publicKey));
    const forgetful: Signer = { algorithm: 'ecdsa-with-SHA256', sign: raw };
    await assert.rejects(issueCertificate(template, forgetful), /malformed ecdsa-with-SHA256 signature/);
  });

  it('converts P1363 signatures to minimal DER integers', () => {
    const r = Buffer.alloc(32);
    r[31] = 1;
    const s = Buffer.alloc(32);
    s[0] = 0x80;
    assert.equal(ecdsaP1363ToDer(Buffer.concat([r, s])).toString('hex'), '3026020101022100' + s.toString('hex'));
    assert.throws(() => ecdsaP1363ToDer(Buffer.alloc(63, 1)), X509ProfileError);
    assert.throws(() => ecdsaP1363ToDer(Buffer.concat([Buffer.alloc(32), s])), /zero component/);
  });

  it('rejects a signer whose algorithm does not match the issuer key', async () => {
    const pair = keyPair('ec-p256');
    const ca = await selfSigned(pair);
    const template = leafTemplate(leafOptions(ca, keyPair('ec-p256').publicKey));
    await assert.rejects(issueCertificate(template, softwareSigner(keyPair('ec-p384').privateKey)), /does not match the issuer key/);
  });

  it('catches a signer holding the wrong key: always for CAs, on request for leaves', async () => {
    const pair = keyPair('ec-p256');
    const impostor = softwareSigner(keyPair('ec-p256').privateKey);
    const caT = caTemplate({ trustDomain: TD, publicKey: pair.publicKey, ...CA_WINDOW });
    await assert.rejects(issueCertificate(caT, impostor), (e: X509ProfileError) => e.code === 'SIGIL_X509_PROFILE_INVALID' && /does not verify/.test(e.message));
    const ca = await selfSigned(pair);
    const leafT = leafTemplate(leafOptions(ca, keyPair('ec-p256').publicKey));
    assert.ok(await issueCertificate(leafT, impostor)); // default: leaves are not re-verified
    await assert.rejects(issueCertificate(leafT, impostor, { verify: true }), /does not verify/);
  });

  it('returns the same DER from issueCertificateDer and assembles signatures by hand', async () => {
    const pair = keyPair('ec-p256');
    const ca = await selfSigned(pair);
    const t = leafTemplate(leafOptions(ca, keyPair('ec-p256').publicKey));
    const viaDer = new X509Certificate(await issueCertificateDer(t, softwareSigner(pair.privateKey)));
    const tbs = encodeTbs(t, 'ecdsa-with-SHA256');
    const byHand = new X509Certificate(assembleCertificate(tbs, 'ecdsa-with-SHA256', cryptoSign('sha256', tbs, { key: pair.privateKey, dsaEncoding: 'der' })));
    for (const c of [viaDer, byHand]) assert.ok(c.verify(ca.publicKey) && c.serialNumber === viaDer.serialNumber);
  });
});

describe('rules and errors', () => {
  let pair: Pair;
  let ca: X509Certificate;
  before(async () => {
    pair = keyPair('ec-p256');
    ca = await selfSigned(pair);
  });
  const key = (): KeyObject => keyPair('ec-p256').publicKey;

  it('refuses a leaf for a trust domain ID (X-2)', () => {
    assert.throws(
      () => leafTemplate(leafOptions(ca, key(), { id: SpiffeId.forTrustDomain(TD) })),
      (e: X509ProfileError) =>
        e instanceof X509ProfileError && e.code === 'SIGIL_X509_PROFILE_INVALID' && e.status === 3 &&
        e.message === 'x509svid: leaf SPIFFE ID must have a non-root path',
    );
  });

  it('marks the SAN critical when the subject is empty (X-3)', async () => {
    const t = leafTemplate(leafOptions(ca, key(), { subject: {} }));
    assert.equal(t.subjectName.toString('hex'), '3000');
    const leaf = await issueCertificate(t, softwareSigner(pair.privateKey));
    assert.ok(leaf.subject === undefined || leaf.subject === '');
    const text = openssl('x509', '-noout', '-text', '-in', pem('empty.pem', leaf));
    assert.equal(extension(text, 'X509v3 Subject Alternative Name')?.critical, true);
    pem('ca.pem', ca);
    assert.match(verifyAtNow('-CAfile', 'ca.pem', 'empty.pem'), /OK/);
  });

  it('computes the validity window with backdating and the CA cap', () => {
    const cap = new Date(NOW.getTime() + 60_000);
    assert.deepEqual(validityWindow(NOW, 3600, { notAfterCap: cap }), {
      notBefore: new Date('2030-03-01T11:59:50Z'),
      notAfter: new Date('2030-03-01T12:01:00Z'),
    });
    assert.deepEqual(validityWindow(NOW, 3600), {
      notBefore: new Date('2030-03-01T11:59:50Z'),
      notAfter: new Date('2030-03-01T13:00:00Z'),
    });
  });

  it('refuses an empty validity window', () => {
    for (const cap of [NOW, new Date(NOW.getTime() - 1000)]) {
      assert.throws(() => validityWindow(NOW, 3600, { notAfterCap: cap }),
        (e: X509ProfileError) => e.status === 9 && /validity window is empty/.test(e.message));
    }
    for (const ttl of [0, -5, 0.5, NaN, Infinity]) assert.throws(() => validityWindow(NOW, ttl), /TTL must be at least 1 second/);
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { notBefore: NOW, notAfter: NOW })), /later than notBefore/);
  });

  it('refuses a leaf that would outlive its CA', () => {
    const notAfter = new Date(Date.parse(ca.validTo) + 1000);
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { notAfter })), /after the issuer's notAfter/);
  });

  it('refuses issuers that are not CAs or belong to another trust domain', async () => {
    const leaf = await issueCertificate(leafTemplate(leafOptions(ca, key())), softwareSigner(pair.privateKey));
    assert.throws(() => leafTemplate(leafOptions(leaf, key())), /issuer certificate is not a CA/);
    const other = SpiffeId.fromString('spiffe://other.org/x');
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { id: other })), /trust domain "example.org", not "other.org"/);
  });

  it("reads issuers with the verifier's certificate reader, refusing one it would refuse", () => {
    // OpenSSL takes a non-ASCII dNSName; verification (like Go) refuses the certificate.
    const issuer = issue(rootSpec({ dns: ['\u00e9.example'], notAfter: new Date(NOW.getTime() + 24 * 3600_000) }));
    assert.equal(issuer.cert.ca, true);
    assert.throws(
      () => leafTemplate(leafOptions(issuer.cert, key())),
      (e: unknown) => e instanceof X509ProfileError &&
        e.message === 'x509svid: cannot read issuer certificate: malformed certificate: dNSName is not an IA5String',
    );
    const sound = issue(rootSpec({ notAfter: new Date(NOW.getTime() + 24 * 3600_000) }));
    const t = leafTemplate(leafOptions(sound.cert, key()));
    assert.deepEqual(t.issuerName, sound.subject);
    assert.deepEqual(t.authorityKeyId, sound.ski);
  });

  it('validates DNS names and subject attributes', () => {
    for (const good of ['localhost', 'a-b.example.org', '*.example.org', '1.example']) {
      assert.doesNotThrow(() => leafTemplate(leafOptions(ca, key(), { dnsNames: [good] })), good);
    }
    for (const bad of ['', 'a..b', '-a.org', 'a-.org', 'a_b.org', '*', 'a.*.org', 'a.org.', 'é.org', 'x'.repeat(64) + '.org']) {
      assert.throws(() => leafTemplate(leafOptions(ca, key(), { dnsNames: [bad] })), /invalid DNS name/, bad);
    }
    for (const subject of [{ country: 'usa' }, { organization: '' }, { commonName: 'x'.repeat(65) }, { serialNumber: 'a_b' }]) {
      assert.throws(() => leafTemplate(leafOptions(ca, key(), { subject })), /invalid subject/);
    }
    const long = 'a'.repeat(60) + '.example.org';
    assert.equal(leafTemplate(leafOptions(ca, key(), { dnsNames: [long] })).subjectName.includes(Buffer.from(long)), false);
  });

  it('uses a given serial as a positive integer and refuses zero or oversized serials', async () => {
    const t = leafTemplate(leafOptions(ca, key(), { serial: Buffer.from('00ff01', 'hex') }));
    const leaf = await issueCertificate(t, softwareSigner(pair.privateKey));
    assert.equal(leaf.serialNumber, 'FF01');
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { serial: Buffer.alloc(4) })), /must be positive/);
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { serial: Buffer.alloc(21, 1) })), /20 octets/);
    assert.throws(() => leafTemplate(leafOptions(ca, key(), { serial: Buffer.alloc(20, 0x80) })), /20 octets/);
    assert.doesNotThrow(() => leafTemplate(leafOptions(ca, key(), { serial: Buffer.alloc(20, 0x7f) })));
  });

  it('draws 10 000 distinct positive serials of at most 127 bits', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const s = newSerial();
      assert.ok(s.length >= 1 && s.length <= 16 && s[0] !== 0);
      if (s.length === 16) assert.ok(s[0]! < 0x80, 'top bit clear');
      seen.add(s.toString('hex'));
    }
    assert.equal(seen.size, 10_000);
  });

  it('encodes validity from 2050 on as GeneralizedTime', async () => {
    const farPair = keyPair('ec-p256');
    const window = { notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2050-06-01T00:00:00Z') };
    const far = await issueCertificate(caTemplate({ trustDomain: TD, publicKey: farPair.publicKey, ...window }), softwareSigner(farPair.privateKey));
    assert.ok(far.raw.includes(Buffer.from('\x17\x0d491231235959Z', 'latin1')));
    assert.ok(far.raw.includes(Buffer.from('\x18\x0f20500601000000Z', 'latin1')));
    assert.equal(Date.parse(far.validTo), window.notAfter.getTime());
  });
});
});
