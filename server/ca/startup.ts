/**
 * What ServerCa.start does before it can sign: find this instance's X.509 CA and JWT key again
 * (journal + KeyManager), with the next ones if a rotation was under way, or create them; then
 * record and publish them.
 *
 * A journal authority is reused only when its key is still in the KeyManager, it is still in the
 * trust domain's bundle (SPIRE's guard: an authority missing there was revoked, or the database
 * was restored to before it), and it has not reached the point where rotation would have replaced
 * it (⅚ of its life). Otherwise the prepared one takes over if there is one (it is in the bundle
 * already), else a new one is made in the other slot, so a failure half-way never destroys the
 * key of the authority it replaces. A prepared authority whose key is gone becomes old: it stays in
 * the bundle until it expires, like any authority agents were told about.
 */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import type { X509Ca } from './authority.js';
import type { Authorities, BundlePublisher } from './bundle-publisher.js';
import type { CaConfig } from './config.js';
import type { JwtKey } from './jwt-issuer.js';
import {
  activeRecord, emptyJournal, encodeJournal, newestWith, parseJournal, promotePrepared, withActive, type Journal,
  type SlotId,
} from './journal.js';
import { JWT_KIND, X509_KIND, type Authority, type AuthorityKind, type AuthorityRecord, type Slots } from './kinds.js';
import { pastActivation } from './schedule.js';

export interface CaState {
  journal: Journal;
  x509: Slots<X509Ca>;
  jwt: Slots<JwtKey>;
}

export const otherSlot = (slot: SlotId | undefined): SlotId => (slot === 'A' ? 'B' : 'A');

interface Loaded<T> {
  journal: Journal;
  slots: Slots<T>;
  changed: boolean;
}

async function loadKind<T extends Authority, R extends AuthorityRecord>(
  c: CaConfig, kind: AuthorityKind<T, R>, journal: Journal, bundle: SpiffeBundle, now: Date,
): Promise<Loaded<T>> {
  const label = kind.label;
  const records = kind.records(journal);
  let changed = false;

  let prepared: T | undefined;
  const preparedRec = newestWith(records, 'prepared');
  if (preparedRec !== undefined) {
    const restored = await kind.restore(c, preparedRec);
    const why = 'reason' in restored ? restored.reason : restored.value.notAfter <= now ? 'it has expired' : undefined;
    if (why === undefined && 'value' in restored) {
      prepared = restored.value;
      c.logger.info(`reusing the prepared ${label} from the journal`, { [kind.idField]: kind.idOf(preparedRec), keyLocation: prepared.key.location });
    } else {
      c.logger.warn(`dropping the journal's prepared ${label} ${kind.idOf(preparedRec)}: ${why}`, { [kind.idField]: kind.idOf(preparedRec) });
      // Demoted to old: it stays in the bundle until it expires, and rotation prepares another.
      journal = kind.withRecords(journal, records.map((r) => (r === preparedRec ? { ...r, status: 'old' as const } : r)));
      changed = true;
    }
  }

  const activeRec = activeRecord(kind.records(journal));
  let active: T | undefined;
  if (activeRec !== undefined) {
    const restored = await kind.restore(c, activeRec);
    let why: string | undefined;
    if ('reason' in restored) why = restored.reason;
    else if (!kind.inBundle(bundle, restored.value)) why = 'it is not in the trust domain bundle (revoked, or the database was restored)';
    else if (pastActivation(restored.value, now)) why = `it expires at ${restored.value.notAfter.toISOString()}, too soon to keep`;
    if (why === undefined && 'value' in restored) {
      active = restored.value;
      c.logger.info(`reusing the ${label} from the journal`, { [kind.idField]: kind.idOf(activeRec), keyLocation: active.key.location });
    } else {
      const next = prepared !== undefined ? 'activating the prepared one' : 'creating a new one';
      c.logger.warn(`not reusing the journal's ${label} ${kind.idOf(activeRec)}: ${why}; ${next}`, { [kind.idField]: kind.idOf(activeRec) });
    }
  }

  if (active === undefined && prepared !== undefined) {
    journal = kind.withRecords(journal, promotePrepared(kind.records(journal)));
    [active, prepared] = [prepared, undefined];
    changed = true;
  } else if (active === undefined) {
    active = await kind.create(c, otherSlot(activeRec?.slot), now);
    journal = kind.withRecords(journal, withActive(kind.records(journal), kind.toRecord(active, 'active')));
    changed = true;
    c.logger.info(`created ${kind.article} ${label}`, kind.logFields(c, active));
  }
  return { journal, slots: { active, prepared }, changed };
}

export async function loadAuthorities(c: CaConfig, publisher: BundlePublisher): Promise<CaState> {
  const now = c.now();
  const stored = await c.journals.get(c.serverInstanceId);
  const start = stored === undefined ? emptyJournal() : parseJournal(c.serverInstanceId, stored.data);
  const bundle = await publisher.fetch();

  const x509 = await loadKind(c, X509_KIND, start, bundle, now);
  const jwt = await loadKind(c, JWT_KIND, x509.journal, bundle, now);
  const state: CaState = { journal: jwt.journal, x509: x509.slots, jwt: jwt.slots };

  // Journal first: if publishing fails, the next start finds these in the journal but not in the
  // bundle and makes new ones, rather than trusting authorities nobody was told about.
  if (x509.changed || jwt.changed) await c.journals.put(c.serverInstanceId, encodeJournal(state.journal));
  await publisher.addAuthorities(publishedAuthorities(state));
  return state;
}

/** Everything this server needs in the bundle now: its active and prepared authorities. */
export function publishedAuthorities(state: CaState): Authorities {
  const x509 = [state.x509.active, state.x509.prepared].filter((a) => a !== undefined);
  const jwt = [state.jwt.active, state.jwt.prepared].filter((a) => a !== undefined);
  return {
    x509: x509.flatMap((a) => X509_KIND.published(a).x509 ?? []),
    jwt: jwt.flatMap((a) => JWT_KIND.published(a).jwt ?? []),
  };
}
