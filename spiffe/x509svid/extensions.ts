/**
 * The certificate extensions of the X.509-SVID profile (X-4..X-9, X-10..X-12 for CAs). The ones
 * every leaf or CA shares are built and DER-encoded once at load; encodeTbs reuses their encodings.
 */
import * as der from '../internal/der-writer.js';
import { Oid } from '../internal/x509.js';

export interface TemplateExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue contents (the DER of the extension's own value). */
  readonly value: Buffer;
}

/** keyUsage bit numbers (RFC 5280 4.2.1.3), as namedBitString takes them. */
const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

const encodedExtensions = new WeakMap<TemplateExtension, Buffer>();

/** The DER Extension. */
export function encodeExtension(e: TemplateExtension): Buffer {
  const hit = encodedExtensions.get(e);
  if (hit !== undefined) return hit;
  // critical is DEFAULT FALSE: DER leaves it out unless true.
  const parts = [der.oid(e.oid), ...(e.critical ? [der.boolean(true)] : []), der.octetString(e.value)];
  return der.constructed(der.Tag.SEQUENCE, parts);
}

/** An extension shared by many templates: encoded once, the encoding reused by every TBS. */
function sharedExtension(oid: string, critical: boolean, value: Buffer): TemplateExtension {
  const e = Object.freeze({ oid, critical, value });
  encodedExtensions.set(e, encodeExtension(e));
  return e;
}

export const LEAF_BASIC_CONSTRAINTS = sharedExtension(Oid.basicConstraints, true, der.sequence()); // cA DEFAULT FALSE
export const LEAF_KEY_USAGE_EC = sharedExtension(Oid.keyUsage, true, der.namedBitString([KU.digitalSignature]));
export const LEAF_KEY_USAGE_RSA = sharedExtension(
  Oid.keyUsage, true, der.namedBitString([KU.digitalSignature, KU.keyEncipherment]));
export const LEAF_EXT_KEY_USAGE = sharedExtension(
  Oid.extKeyUsage, false, der.sequence(der.oid(Oid.serverAuth), der.oid(Oid.clientAuth)));
export const CA_KEY_USAGE = sharedExtension(Oid.keyUsage, true, der.namedBitString([KU.keyCertSign, KU.cRLSign]));

/** basicConstraints cA=TRUE, with a pathLenConstraint when `maxPathLen` is given. */
export function caBasicConstraints(maxPathLen: number | undefined): TemplateExtension {
  const value = der.sequence(der.boolean(true), ...(maxPathLen === undefined ? [] : [der.integer(maxPathLen)]));
  return { oid: Oid.basicConstraints, critical: true, value };
}

export function subjectKeyIdExtension(keyId: Buffer): TemplateExtension {
  return { oid: Oid.subjectKeyIdentifier, critical: false, value: der.octetString(keyId) };
}

/** Shared: one issuer's AKI goes into every certificate it issues. */
export function authorityKeyIdExtension(keyId: Buffer): TemplateExtension {
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, … }
  return sharedExtension(Oid.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, keyId)));
}

/** `value` from encodeSubjectAltName. */
export function subjectAltNameExtension(value: Buffer, critical: boolean): TemplateExtension {
  return { oid: Oid.subjectAltName, critical, value };
}
