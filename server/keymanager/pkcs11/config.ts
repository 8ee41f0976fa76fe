/**
 * The pkcs11 key manager's settings (`ca.keyManager` with `type: pkcs11`) and where its PIN comes
 * from. The PIN is never in the config itself: a file (a mounted secret) or an environment
 * variable holds it, read when the key manager opens. Messages name the source, never the value.
 */
import { readFile } from 'node:fs/promises';
import { messageOf } from '../../../spiffe/errors.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import { PKCS11_TYPE } from './module.js';

export interface Pkcs11KeyManagerConfig {
  /** The PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** The token, by label; exactly one of tokenLabel and slot. */
  tokenLabel?: string;
  /** The token, by index in the module's list of slots with a token (not the slot ID). */
  slot?: number;
  /** A file holding the user PIN (one trailing newline is dropped); exactly one of pinFile and pinEnv. */
  pinFile?: string;
  /** An environment variable holding the user PIN. */
  pinEnv?: string;
  /** Keys are labelled `<prefix>-<key id>` in the token; default `sigil`. */
  keyLabelPrefix?: string;
  /** Sessions opened on the token, each signing one request at a time; default 4. */
  sessions?: number;
}

export const DEFAULT_KEY_LABEL_PREFIX = 'sigil';
export const DEFAULT_SESSIONS = 4;
export const MAX_SESSIONS = 64;

/** What keyLabelPrefix may be; the config schema checks it with this too. */
export const KEY_LABEL_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

function invalid(message: string): KeyManagerError {
  return new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.invalid, message);
}

/** The token as messages name it: `token "sigil-ca"` or `the token in slot 0`. */
export function tokenName(c: Pkcs11KeyManagerConfig): string {
  return c.tokenLabel !== undefined ? `token "${c.tokenLabel}"` : `the token in slot ${c.slot ?? '?'}`;
}

/** Checks what the config schema checks too, for callers that build the config in code. */
export function checkConfig(c: Pkcs11KeyManagerConfig): void {
  if (typeof c.module !== 'string' || c.module === '') throw invalid('module is required: set it to the PKCS#11 library path');
  if ((c.tokenLabel === undefined) === (c.slot === undefined)) throw invalid('set exactly one of tokenLabel and slot');
  if (c.slot !== undefined && !(Number.isInteger(c.slot) && c.slot >= 0)) throw invalid(`slot ${String(c.slot)} is not an index ≥ 0`);
  if ((c.pinFile === undefined) === (c.pinEnv === undefined)) throw invalid('set exactly one of pinFile and pinEnv');
  const prefix = c.keyLabelPrefix ?? DEFAULT_KEY_LABEL_PREFIX;
  if (!KEY_LABEL_PREFIX.test(prefix)) {
    throw invalid(`keyLabelPrefix ${JSON.stringify(prefix)} is invalid: use 1 to 32 characters of [A-Za-z0-9._-], starting with a letter or digit`);
  }
  const sessions = c.sessions ?? DEFAULT_SESSIONS;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > MAX_SESSIONS) throw invalid(`sessions must be 1 to ${MAX_SESSIONS}`);
}

/** The user PIN, from pinFile or pinEnv. */
export async function readPin(c: Pkcs11KeyManagerConfig): Promise<string> {
  let pin: string;
  let source: string;
  if (c.pinFile !== undefined) {
    source = `pinFile ${c.pinFile}`;
    try {
      pin = (await readFile(c.pinFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw invalid(`cannot read the PIN of ${tokenName(c)} from ${source}: ${messageOf(err)}`);
    }
  } else {
    source = `environment variable ${c.pinEnv ?? ''}`;
    pin = process.env[c.pinEnv ?? ''] ?? '';
  }
  if (pin === '') throw invalid(`the PIN of ${tokenName(c)} is empty: put it in ${source}`);
  return pin;
}
