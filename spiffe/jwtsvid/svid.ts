import type { SpiffeId } from '../spiffeid/index.js';

export interface JwtSvidInit {
  id: SpiffeId;
  audience: readonly string[];
  expiry: Date;
  claims: Record<string, unknown>;
  token: string;
  hint?: string;
}

/**
 * A parsed JWT-SVID. Obtain one from parseInsecure or parseAndValidate, which guarantee the fields
 * agree with the token; the constructor trusts its caller.
 */
export class JwtSvid {
  /** The `sub` claim. */
  readonly id: SpiffeId;
  /** The `aud` claim, always as a list (a single-string aud becomes a one-element list). */
  readonly audience: string[];
  /** The `exp` claim, whole seconds. */
  readonly expiry: Date;
  /** Every claim of the token, registered and private, as decoded from its JSON. */
  readonly claims: Record<string, unknown>;
  /** The compact JWS exactly as received; what goes on the wire. */
  readonly token: string;
  /** The Workload API's operator-chosen hint for telling SVIDs of one workload apart. */
  readonly hint?: string;

  constructor(init: JwtSvidInit) {
    this.id = init.id;
    this.audience = [...init.audience];
    this.expiry = new Date(init.expiry.getTime());
    this.claims = init.claims;
    this.token = init.token;
    if (init.hint !== undefined) this.hint = init.hint;
  }

  /** The same SVID carrying a Workload API hint. */
  withHint(hint: string): JwtSvid {
    return new JwtSvid({ ...this, hint });
  }

  /** The token, for sending (go-spiffe's Marshal). */
  marshal(): string {
    return this.token;
  }
}
