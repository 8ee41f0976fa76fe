/**
 * Just enough of a TPM in software to drive the server half of the tpm attestor in unit tests: an
 * RSA EK and an ECC AK from Node keys, ActivateCredential (the inverse of credential.ts, written
 * from the spec, not from it), and a signed quote. The integration suites use swtpm instead.
 */
import { createDecipheriv, createHash, createHmac, generateKeyPairSync, privateDecrypt, sign, constants, type KeyObject } from 'node:crypto';
import { kdfa } from '../../attestors/node/tpm/credential.js';
import { akTemplate, ekTemplate } from '../../attestors/node/tpm/public-area.js';
import { WireReader, WireWriter, writePcrSelection, type PcrBankSelection } from '../../attestors/node/tpm/wire.js';

export class SoftTpm {
  readonly ek = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly ak = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  pcrs: Record<number, Buffer> = {};

  /** TPMT_PUBLIC of the EK: the RSA L-1 template with this modulus. */
  get ekPublic(): Buffer {
    const t = Buffer.from(ekTemplate('rsa'));
    const n = Buffer.from(this.ek.publicKey.export({ format: 'jwk' }).n!, 'base64url');
    n.copy(t, t.length - 256);
    return t;
  }

  /** TPMT_PUBLIC of the AK: the ECC template with this point. */
  akPublic(attributesXor = 0): Buffer {
    const t = Buffer.from(akTemplate());
    const jwk = this.ak.publicKey.export({ format: 'jwk' });
    const head = t.subarray(0, t.length - 4);
    head.writeUInt32BE(head.readUInt32BE(4) ^ attributesXor, 4);
    return Buffer.concat([head, new WireWriter().sized(Buffer.from(jwk.x!, 'base64url')).sized(Buffer.from(jwk.y!, 'base64url')).finish()]);
  }

  get akName(): Buffer {
    return Buffer.concat([Buffer.of(0x00, 0x0b), createHash('sha256').update(this.akPublic()).digest()]);
  }

  /** TPM2_ActivateCredential for the AK under the EK. */
  activate(credentialBlob: Uint8Array, encryptedSecret: Uint8Array, name: Buffer = this.akName): Buffer {
    const seed = privateDecrypt(
      { key: this.ek.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('IDENTITY\0', 'latin1') },
      new WireReader(encryptedSecret).sized('secret'),
    );
    const idObject = new WireReader(new WireReader(credentialBlob).sized('blob'));
    const hmac = idObject.sized('hmac');
    const encIdentity = idObject.bytes(idObject.remaining, 'encIdentity');
    const hmacKey = kdfa('sha256', seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), 256);
    if (!createHmac('sha256', hmacKey).update(encIdentity).update(name).digest().equals(hmac)) throw new Error('TPM_RC_INTEGRITY');
    const symKey = kdfa('sha256', seed, 'STORAGE', name, new Uint8Array(0), 128);
    const d = createDecipheriv('aes-128-cfb', symKey, Buffer.alloc(16));
    return Buffer.from(new WireReader(Buffer.concat([d.update(encIdentity), d.final()])).sized('credential'));
  }

  /** TPM2_Quote by the AK: TPMS_ATTEST and TPMT_SIGNATURE. */
  quote(nonce: Uint8Array, selection: PcrBankSelection[], signer: KeyObject = this.ak.privateKey): { quoted: Buffer; signature: Buffer } {
    const digest = createHash('sha256');
    for (const s of selection) for (const i of s.pcrs) digest.update(this.pcr(i));
    const quoted = Buffer.from(
      new WireWriter()
        .u32(0xff544347).u16(0x8018).sized(this.akName).sized(nonce)
        .u32(0).u32(1000).u32(1).u32(0).u8(1).u32(0).u32(0)
        .bytes(writePcrSelection(selection)).sized(digest.digest())
        .finish(),
    );
    const sig = sign('sha256', quoted, { key: signer, dsaEncoding: 'ieee-p1363' });
    const signature = Buffer.from(new WireWriter().u16(0x0018).u16(0x000b).sized(sig.subarray(0, 32)).sized(sig.subarray(32)).finish());
    return { quoted, signature };
  }

  pcr(i: number): Buffer {
    return this.pcrs[i] ?? Buffer.alloc(32);
  }

  /** The PCR values of `selection` as the agent sends them. */
  pcrValues(selection: PcrBankSelection[]): Record<string, Record<string, string>> {
    return Object.fromEntries(selection.map((s) => [s.bank, Object.fromEntries(s.pcrs.map((i) => [String(i), this.pcr(i).toString('hex')]))]));
  }
}
