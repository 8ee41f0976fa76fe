/**
 * Keeps the trust domain's SPIFFE bundle in the BundleStore. Several servers publish into one
 * bundle, so every change is a read-modify-write through BundleStore.update (a row lock): each
 * server adds its authorities to whatever the others put there. A change moves spiffe_sequence up
 * by exactly one; an edit that changes nothing writes nothing.
 *
 * Every mutation goes through apply(edit). Adding authorities is what this issue needs; rotation
 * adds removal (revoke), tainting and pruning of expired authorities as further edits on the same
 * path, so the sequence rule holds for them without a second code path.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { messageOf } from '../../spiffe/errors.js';
import { SpiffeBundle } from '../../spiffe/bundle/index.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { BundleStore } from '../datastore/datastore.js';
import type { StoredBundle } from '../datastore/types.js';
import { CaError, CaErrorCode } from './errors.js';

export interface JwtAuthority {
  kid: string;
  publicKey: KeyObject;
}

export interface Authorities {
  x509?: readonly X509Certificate[];
  jwt?: readonly JwtAuthority[];
}

/** Changes `bundle` in place; returns whether it changed anything. */
export type BundleEdit = (bundle: SpiffeBundle) => boolean;

export interface BundlePublisherOptions {
  /** Written into the bundle when set (spiffe_refresh_hint, seconds); a different stored hint is a change. */
  refreshHintSeconds?: number;
}

export class BundlePublisher {
  constructor(
    private readonly store: BundleStore,
    readonly trustDomain: TrustDomain,
    private readonly options: BundlePublisherOptions = {},
  ) {}

  /** The bundle as stored now, with every server's authorities; an empty one before any was published. */
  async fetch(): Promise<SpiffeBundle> {
    const stored = await this.store.get(this.trustDomain.name);
    return stored === undefined ? new SpiffeBundle(this.trustDomain) : this.#parse(stored);
  }

  /** Adds the authorities the bundle lacks. Returns the bundle as it stands afterwards. */
  addAuthorities(authorities: Authorities): Promise<SpiffeBundle> {
    return this.apply((bundle) => {
      let changed = false;
      for (const cert of authorities.x509 ?? []) changed = bundle.addX509Authority(cert) || changed;
      for (const { kid, publicKey } of authorities.jwt ?? []) {
        if (bundle.findJwtAuthority(kid)?.equals(publicKey) === true) continue;
        bundle.addJwtAuthority(kid, publicKey);
        changed = true;
      }
      return changed;
    });
  }

  /** Runs `edit` on the stored bundle under the store's lock; stores it with sequence + 1 if it changed. */
  async apply(edit: BundleEdit): Promise<SpiffeBundle> {
    let result: SpiffeBundle | undefined;
    const hint = this.options.refreshHintSeconds;
    await this.store.update(this.trustDomain.name, (current) => {
      // The store may call this again after a conflict, so nothing outside it is touched but `result`.
      const bundle = current === undefined ? new SpiffeBundle(this.trustDomain) : this.#parse(current);
      result = bundle;
      const hintChanged = hint !== undefined && bundle.refreshHintSeconds !== hint;
      if (!edit(bundle) && !hintChanged) return undefined;
      const sequence = (current?.sequence ?? 0n) + 1n;
      bundle.sequenceNumber = sequence;
      if (hint !== undefined) bundle.refreshHintSeconds = hint;
      return { trustDomain: this.trustDomain.name, document: bundle.marshal(), sequence };
    });
    return result ?? (await this.fetch());
  }

  #parse(stored: StoredBundle): SpiffeBundle {
    try {
      return SpiffeBundle.parse(this.trustDomain, stored.document);
    } catch (err) {
      throw new CaError(
        CaErrorCode.corrupt,
        `the stored bundle of trust domain "${this.trustDomain.name}" cannot be read: ${messageOf(err)}; restore the database`,
        { cause: err },
      );
    }
  }
}
