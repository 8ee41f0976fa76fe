/**
 * What ServerCa.start does before it can sign: find this instance's X.509 CA and JWT key again
 * (journal + KeyManager), or create them, then record and publish them.
 *
 * A journal authority is reused only when its key is still in the KeyManager, it is still in the
 * trust domain's bundle (SPIRE's guard: an authority missing there was revoked, or the database
 * was restored to before it), and it has not reached the point where rotation would have replaced
 * it (⅚ of its life). Otherwise a new one is made in the other slot, so a failure half-way never
 * destroys the key of the authority it replaces.
 */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { createX509Ca, restoreX509Ca, x509CaRecord, type Restored, type X509Ca } from './authority.js';
import type { BundlePublisher } from './bundle-publisher.js';
import type { CaConfig } from './config.js';
import { createJwtKey, jwtKeyRecord, restoreJwtKey, type JwtKey } from './jwt-issuer.js';
import {
  activeRecord, emptyJournal, encodeJournal, parseJournal, withActive, type Journal, type SlotId,
} from './journal.js';

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

/** SPIRE's activation threshold: the next authority takes over when min(life/6, 7 d) remains. */
export function pastActivation(issuedAt: Date, notAfter: Date, now: Date): boolean {
  const life = notAfter.getTime() - issuedAt.getTime();
  return notAfter.getTime() - now.getTime() <= Math.min(life / 6, SEVEN_DAYS_MS);
}

const otherSlot = (slot: SlotId | undefined): SlotId => (slot === 'A' ? 'B' : 'A');

/** Why a restored authority cannot be used, or undefined when it can. */
function unusable<T extends { issuedAt: Date; notAfter: Date }>(
  r: Restored<T>, inBundle: (v: T) => boolean, now: Date,
): string | undefined {
  if ('reason' in r) return r.reason;
  if (!inBundle(r.value)) return 'it is not in the trust domain bundle (revoked, or the database was restored)';
  if (pastActivation(r.value.issuedAt, r.value.notAfter, now)) return `it expires at ${r.value.notAfter.toISOString()}, too soon to keep`;
  return undefined;
}

async function x509Ca(c: CaConfig, journal: Journal, bundle: SpiffeBundle, now: Date): Promise<X509Ca | undefined> {
  const record = activeRecord(journal.x509CAs);
  if (record === undefined) return undefined;
  const restored = await restoreX509Ca(record, c.keyManager, c.trustDomain);
  const why = unusable(restored, (ca) => ca.roots.every((r) => bundle.hasX509Authority(r)), now);
  if (why === undefined && 'value' in restored) {
    c.logger.info('reusing the X.509 CA from the journal', { authorityId: record.authorityId, keyLocation: restored.value.key.location });
    return restored.value;
  }
  c.logger.warn(`not reusing the journal's X.509 CA ${record.authorityId}: ${why}; creating a new one`, { authorityId: record.authorityId });
  return undefined;
}

async function jwtKey(c: CaConfig, journal: Journal, bundle: SpiffeBundle, now: Date): Promise<JwtKey | undefined> {
  const record = activeRecord(journal.jwtKeys);
  if (record === undefined) return undefined;
  const restored = await restoreJwtKey(record, c.keyManager);
  const why = unusable(restored, (k) => bundle.findJwtAuthority(k.kid)?.equals(k.key.publicKey) === true, now);
  if (why === undefined && 'value' in restored) {
    c.logger.info('reusing the JWT key from the journal', { kid: record.kid, keyLocation: restored.value.key.location });
    return restored.value;
  }
  c.logger.warn(`not reusing the journal's JWT key ${record.kid}: ${why}; creating a new one`, { kid: record.kid });
  return undefined;
}

export async function loadAuthorities(c: CaConfig, publisher: BundlePublisher): Promise<{ x509: X509Ca; jwt: JwtKey }> {
  const now = c.now();
  const stored = await c.journals.get(c.serverInstanceId);
  let journal = stored === undefined ? emptyJournal() : parseJournal(c.serverInstanceId, stored.data);
  const bundle = await publisher.fetch();
  let changed = false;

  let x509 = await x509Ca(c, journal, bundle, now);
  if (x509 === undefined) {
    x509 = await createX509Ca({
      trustDomain: c.trustDomain, keyManager: c.keyManager, keyType: c.keyType, ttlSeconds: c.caTtlSeconds, now,
      slot: otherSlot(activeRecord(journal.x509CAs)?.slot), upstream: c.upstream, subject: c.caSubject,
    });
    journal = { ...journal, x509CAs: withActive(journal.x509CAs, x509CaRecord(x509, 'active')) };
    changed = true;
    c.logger.info('created an X.509 CA', {
      authorityId: x509.authorityId, notAfter: x509.notAfter.toISOString(), keyLocation: x509.key.location,
      upstream: c.upstream?.type ?? 'none',
    });
  }

  let jwt = await jwtKey(c, journal, bundle, now);
  if (jwt === undefined) {
    jwt = await createJwtKey({
      keyManager: c.keyManager, keyType: c.jwtKeyType, ttlSeconds: c.caTtlSeconds, now,
      slot: otherSlot(activeRecord(journal.jwtKeys)?.slot),
    });
    journal = { ...journal, jwtKeys: withActive(journal.jwtKeys, jwtKeyRecord(jwt, 'active')) };
    changed = true;
    c.logger.info('created a JWT key', { kid: jwt.kid, notAfter: jwt.notAfter.toISOString(), keyLocation: jwt.key.location });
  }

  // Journal first: if publishing fails, the next start finds these in the journal but not in the
  // bundle and makes new ones, rather than trusting authorities nobody was told about.
  if (changed) await c.journals.put(c.serverInstanceId, encodeJournal(journal));
  await publisher.addAuthorities({ x509: x509.roots, jwt: [{ kid: jwt.kid, publicKey: jwt.key.publicKey }] });
  return { x509, jwt };
}
