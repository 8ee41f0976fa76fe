/**
 * SoftHSM2's own signing rate for the issuance benchmark: C_SignInit + C_Sign straight through
 * pkcs11js on sessions of the benchmark's own, bypassing sigil's pool, so the ratio of issuance to
 * it shows everything sigil adds (hashing, DER, session pool, certificate building).
 */
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { SharedModule } from '../../server/keymanager/pkcs11/module.js';
import { findObjects } from '../../server/keymanager/pkcs11/objects.js';

export interface RawSigner {
  /** Signs `perSession` digests on each session, the sessions side by side. */
  signOnEach(perSession: number): Promise<void>;
  close(): Promise<void>;
}

/** Sessions on the token labelled `tokenLabel` (already logged in by a key manager of this process). */
export async function rawSigner(module: string, tokenLabel: string, keyLabel: string, tbs: Buffer, sessions: number): Promise<RawSigner> {
  const m = SharedModule.acquire(module);
  const digest = createHash('sha256').update(tbs).digest();
  const { handles, key } = await m.call((lib) => {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === tokenLabel);
    if (slot === undefined) throw new Error(`token ${tokenLabel} not found`);
    const handles = Array.from({ length: sessions }, () => lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION));
    const [key] = findObjects(lib, handles[0]!, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
    ]);
    if (key === undefined) throw new Error(`key ${keyLabel} not found`);
    return { handles, key };
  });
  return {
    signOnEach: (perSession) =>
      m.call(async (lib) => {
        await Promise.all(
          handles.map(async (session) => {
            for (let i = 0; i < perSession; i++) {
              lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key);
              await lib.C_SignAsync(session, digest, Buffer.alloc(64));
            }
          }),
        );
      }),
    close: async () => {
      await m.call((lib) => handles.forEach((s) => lib.C_CloseSession(s)));
      m.release();
    },
  };
}
