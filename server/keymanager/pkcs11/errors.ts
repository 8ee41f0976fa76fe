/**
 * What a PKCS#11 failure means for the key manager: the CKR_ name for messages (pkcs11js errors
 * carry only that and the function, never the arguments, so a PIN cannot leak through them), and
 * whether reopening the sessions (and reinitializing the module) may cure it.
 */
import pkcs11js from 'pkcs11js';
import { messageOf } from '../../../spiffe/errors.js';

/** The CKR_ value of a pkcs11js error, or undefined for anything else. */
export function ckrCode(err: unknown): number | undefined {
  return err instanceof pkcs11js.Pkcs11Error ? err.code : undefined;
}

/** `CKR_PIN_INCORRECT in C_Login`, or the message of a non-PKCS#11 error. */
export function describePkcs11Error(err: unknown): string {
  if (err instanceof pkcs11js.Pkcs11Error) return err.method ? `${err.message} in ${err.method}` : err.message;
  return messageOf(err);
}

/**
 * Failures of the session, the login or the token rather than of the request: a new session (and
 * for a token that went away, a new C_Initialize) may succeed where the old one failed.
 */
const RECONNECT = new Set<number>([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_FUNCTION_FAILED,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_COUNT,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
]);

export function needsReconnect(err: unknown): boolean {
  const code = ckrCode(err);
  return code !== undefined && RECONNECT.has(code);
}

/** The object behind a cached handle is gone: the token was reset, or the key was replaced. */
export function isStaleHandle(err: unknown): boolean {
  const code = ckrCode(err);
  return code === pkcs11js.CKR_OBJECT_HANDLE_INVALID || code === pkcs11js.CKR_KEY_HANDLE_INVALID;
}
