/**
 * A WorkloadView for Workload API tests, keyed by selectors as the real cache is: an identity goes
 * to every caller whose selectors include all of the identity's. Tests add and remove identities and
 * bundles and see the server push; JWT-SVIDs are signed here with a test key and counted.
 * TestAuthority makes real certificates (openssl and go-spiffe-style parsing must accept them).
 */
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import type {
  BundleView, Identity, IdentitySnapshot, Selector, Subscription, WorkloadView,
} from '../../agent/cache/workload-view.js';
import { JwtBundle } from '../../spiffe/bundle/index.js';
import { SigilError, Status } from '../../spiffe/errors.js';
import { signJwtSvid } from '../../spiffe/jwtsvid/index.js';
import { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { caTemplate, issueCertificateDer, leafTemplate, softwareSigner } from '../../spiffe/x509svid/index.js';

const HOUR_MS = 3600_000;

/** A trust domain's CA and JWT key, issuing real SVIDs. */
export class TestAuthority {
  readonly trustDomain: TrustDomain;
  readonly caCert: X509Certificate;
  readonly caDer: Buffer;
  readonly #caKey: KeyObject;
  readonly jwtKey: KeyObject;
  readonly jwtKid: string;

  private constructor(td: TrustDomain, caDer: Buffer, caKey: KeyObject, jwtKey: KeyObject, kid: string) {
    this.trustDomain = td;
    this.caDer = caDer;
    this.caCert = new X509Certificate(caDer);
    this.#caKey = caKey;
    this.jwtKey = jwtKey;
    this.jwtKid = kid;
  }

  static async create(trustDomain: string): Promise<TestAuthority> {
    const td = TrustDomain.fromString(trustDomain);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    const tpl = caTemplate({ trustDomain: td, publicKey, notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 48 * HOUR_MS) });
    const caDer = await issueCertificateDer(tpl, softwareSigner(privateKey));
    const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new TestAuthority(td, caDer, privateKey, jwt.privateKey, `kid-${trustDomain}`);
  }

  bundleView(): BundleView {
    const jwt = new JwtBundle(this.trustDomain, [[this.jwtKid, this.#publicJwtKey()]]);
    return { trustDomain: this.trustDomain.name, x509Der: this.caDer, jwksJson: Buffer.from(jwt.marshal()) };
  }

  #publicJwtKey(): KeyObject {
    return createPublicKey(this.jwtKey);
  }

  /** An identity for `path` with the given selectors (`unix:uid:1000` strings). */
  async issue(path: string, selectors: string[], opts: Partial<Pick<Identity, 'hint' | 'createdAt' | 'federatesWith' | 'entryId'>> = {}): Promise<Identity> {
    const id = SpiffeId.fromString(`spiffe://${this.trustDomain.name}${path}`);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    const tpl = leafTemplate({ id, publicKey, issuer: this.caCert, notBefore: new Date(now - 60_000), notAfter: new Date(now + HOUR_MS) });
    const leaf = await issueCertificateDer(tpl, softwareSigner(this.#caKey));
    return {
      entryId: opts.entryId ?? `entry-${path.replace(/\//g, '_')}-${Math.random().toString(36).slice(2, 8)}`,
      spiffeId: id.toString(),
      hint: opts.hint ?? '',
      createdAt: opts.createdAt ?? Math.floor(now / 1000),
      selectors: selectors.map(parseSelector),
      federatesWith: opts.federatesWith ?? [],
      certChainDer: leaf,
      privateKeyDer: privateKey.export({ format: 'der', type: 'pkcs8' }),
      expiresAt: Math.floor(now / 1000) + 3600,
    };
  }
}

export function parseSelector(s: string): Selector {
  const colon = s.indexOf(':');
  return { type: s.slice(0, colon), value: s.slice(colon + 1) };
}

const key = (s: Selector): string => `${s.type}:${s.value}`;

interface Sub {
  selectors: Selector[];
  onUpdate: (snap: IdentitySnapshot) => void;
  last: IdentitySnapshot;
}

export class FakeWorkloadView implements WorkloadView {
  #version = 1;
  #identities: Identity[] = [];
  #bundle: BundleView;
  readonly #federated = new Map<string, BundleView>();
  readonly #subs = new Set<Sub>();
  readonly #bundleListeners = new Set<() => void>();
  readonly #jwtCache = new Map<string, { token: string; expiresAt: number }>();
  readonly #authorities = new Map<string, TestAuthority>();
  healthState = { ready: true, live: true, detail: '' };
  /** JWT-SVIDs minted (cache misses). */
  jwtMints = 0;
  /** Set to make fetchJwtSvid fail like an unreachable server. */
  jwtFailure: SigilError | undefined;

  constructor(readonly authority: TestAuthority) {
    this.#bundle = authority.bundleView();
    this.#authorities.set(authority.trustDomain.name, authority);
  }

  get subscriberCount(): number {
    return this.#subs.size;
  }

  get version(): number {
    return this.#version;
  }

  setIdentities(identities: Identity[]): void {
    this.#identities = [...identities];
    this.#changed();
  }

  addIdentity(identity: Identity): void {
    this.setIdentities([...this.#identities, identity]);
  }

  removeIdentity(entryId: string): void {
    this.setIdentities(this.#identities.filter((i) => i.entryId !== entryId));
  }

  setBundle(bundle: BundleView): void {
    this.#bundle = bundle;
    this.#changed(true);
  }

  addFederated(authority: TestAuthority): void {
    this.#authorities.set(authority.trustDomain.name, authority);
    this.#federated.set(authority.trustDomain.name, authority.bundleView());
    this.#changed(true);
  }

  /** A change that alters nobody's entitlement (another caller's entry): the version still moves. */
  touch(): void {
    this.#changed();
  }

  subscribe(selectors: Selector[], onUpdate: (snapshot: IdentitySnapshot) => void): Subscription {
    const sub: Sub = { selectors: [...selectors], onUpdate, last: this.snapshot(selectors) };
    this.#subs.add(sub);
    return { snapshot: sub.last, unsubscribe: () => this.#subs.delete(sub) };
  }

  snapshot(selectors: Selector[]): IdentitySnapshot {
    const have = new Set(selectors.map(key));
    const matching = this.#identities
      .filter((i) => i.selectors.every((s) => have.has(key(s))))
      .sort((a, b) => a.createdAt - b.createdAt || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
    const hints = new Set<string>();
    const identities = matching.filter((i) => i.hint === '' || (!hints.has(i.hint) && hints.add(i.hint) !== undefined));
    const federatedBundles = new Map<string, BundleView>();
    for (const i of identities) {
      for (const td of i.federatesWith) {
        const b = this.#federated.get(td);
        if (b !== undefined) federatedBundles.set(td, b);
      }
    }
    return { version: this.#version, identities, bundle: this.#bundle, federatedBundles };
  }

  bundles(): { own: BundleView; federated: ReadonlyMap<string, BundleView> } {
    return { own: this.#bundle, federated: new Map(this.#federated) };
  }

  onBundlesChange(listener: () => void): () => void {
    this.#bundleListeners.add(listener);
    return () => this.#bundleListeners.delete(listener);
  }

  async fetchJwtSvid(identity: Identity, audience: string[]): Promise<{ token: string; expiresAt: number }> {
    if (this.jwtFailure !== undefined) throw this.jwtFailure;
    if (!this.#identities.some((i) => i.entryId === identity.entryId)) {
      throw new SigilError('SIGIL_TEST_NOT_HELD', 'identity not held', { status: Status.PERMISSION_DENIED });
    }
    const cacheKey = `${identity.spiffeId}|${[...audience].sort().join(',')}`;
    const cached = this.#jwtCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const id = SpiffeId.fromString(identity.spiffeId);
    const auth = this.#authorities.get(id.trustDomain.name) ?? this.authority;
    const expiresAt = Math.floor(Date.now() / 1000) + 300;
    const token = await signJwtSvid({ id, audience, expiresAt: new Date(expiresAt * 1000), keyId: auth.jwtKid }, auth.jwtKey);
    this.jwtMints++;
    const out = { token, expiresAt };
    this.#jwtCache.set(cacheKey, out);
    return out;
  }

  health(): { ready: boolean; live: boolean; detail: string } {
    return { ...this.healthState };
  }

  #changed(bundles = false): void {
    this.#version++;
    for (const sub of [...this.#subs]) {
      const next = this.snapshot(sub.selectors);
      if (sameEntitlement(sub.last, next)) continue;
      sub.last = next;
      sub.onUpdate(next);
    }
    if (bundles) for (const l of [...this.#bundleListeners]) l();
  }
}

function sameEntitlement(a: IdentitySnapshot, b: IdentitySnapshot): boolean {
  return (
    a.bundle === b.bundle &&
    a.identities.length === b.identities.length &&
    a.identities.every((x, n) => x === b.identities[n]) &&
    a.federatedBundles.size === b.federatedBundles.size &&
    [...a.federatedBundles].every(([td, v]) => b.federatedBundles.get(td) === v)
  );
}
