/**
 * When a certificate is valid and how it is numbered: serials (RFC 5280 4.1.2.2) and the validity
 * window (4.1.2.5), in the whole seconds a certificate can hold.
 */
import { randomBytes } from 'node:crypto';
import { Status } from '../errors.js';
import { X509ProfileError } from './profile-errors.js';

/** notBefore is set this far before "now" so peers with a slow clock accept a fresh SVID (SPIRE's cushion). */
export const BACKDATE_SECONDS = 10;

let serialPool = Buffer.alloc(0);
let serialAt = 0;

/** A random positive 127-bit serial (top bit cleared, never zero), minimal magnitude. */
export function newSerial(): Buffer {
  for (;;) {
    // One randomBytes call per 256 serials: the per-call cost dominates at 16 bytes.
    if (serialAt + 16 > serialPool.length) {
      serialPool = randomBytes(4096);
      serialAt = 0;
    }
    const raw = serialPool.subarray(serialAt, (serialAt += 16));
    raw[0] &= 0x7f;
    let i = 0;
    while (i < 16 && raw[i] === 0) i++;
    if (i < 16) return Buffer.from(raw.subarray(i));
  }
}

/** The serial to issue with: a fresh one, or the caller's checked and stripped of leading zeros. */
export function checkSerial(serial: Uint8Array | undefined): Buffer {
  if (serial === undefined) return newSerial();
  let i = 0;
  while (i < serial.length && serial[i] === 0) i++;
  const m = Buffer.from(serial.subarray(i));
  if (m.length === 0) throw new X509ProfileError('serial number must be positive');
  if (m.length > 20 || (m.length === 20 && m[0]! >= 0x80)) {
    throw new X509ProfileError('serial number must fit in 20 octets (RFC 5280 4.1.2.2)');
  }
  return m;
}

function wholeSeconds(d: Date, what: string): Date {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new X509ProfileError(`${what} is not a valid date`);
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** [notBefore, notAfter] in whole seconds, non-empty and, given the issuer's notAfter, within it. */
export function checkValidity(notBefore: Date, notAfter: Date, issuerNotAfter?: Date): [Date, Date] {
  const nb = wholeSeconds(notBefore, 'notBefore');
  const na = wholeSeconds(notAfter, 'notAfter');
  if (na <= nb) throw new X509ProfileError('notAfter must be later than notBefore');
  if (issuerNotAfter !== undefined && na > issuerNotAfter) {
    throw new X509ProfileError(
      `notAfter ${na.toISOString()} is after the issuer's notAfter ${issuerNotAfter.toISOString()}`);
  }
  return [nb, na];
}

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

/**
 * notBefore = now − BACKDATE_SECONDS, notAfter = min(now + ttl, cap), in whole seconds (what the
 * certificate will hold). Pass the issuer's notAfter as the cap: an SVID must not outlive its CA.
 */
export function validityWindow(now: Date, ttlSeconds: number, options: { notAfterCap?: Date } = {}): ValidityWindow {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1) {
    throw new X509ProfileError(`TTL must be at least 1 second, got ${ttlSeconds}`);
  }
  const start = wholeSeconds(now, 'now').getTime();
  let end = start + Math.floor(ttlSeconds) * 1000;
  if (options.notAfterCap !== undefined) end = Math.min(end, wholeSeconds(options.notAfterCap, 'notAfterCap').getTime());
  if (end <= start) {
    throw new X509ProfileError(`validity window is empty: notAfter cap ${new Date(end).toISOString()} is not after now`, {
      status: Status.FAILED_PRECONDITION,
    });
  }
  return { notBefore: new Date(start - BACKDATE_SECONDS * 1000), notAfter: new Date(end) };
}
