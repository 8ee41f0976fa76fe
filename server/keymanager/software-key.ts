/**
 * Keys held by this process as node:crypto KeyObjects: what the memory and disk key managers share.
 * The private KeyObject stays in a private field; callers only ever see the public key and a Signer.
 */
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { softwareSigner, type Signer } from '../../spiffe/x509svid/signer.js';
import { KeyManagerError, KeyManagerErrorCode } from './errors.js';
import { isKeyType, keyIdProblem, KEY_TYPES, type KeyType, type ManagedKey } from './key-manager.js';

export class SoftwareKey implements ManagedKey {
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;
  #signer: Signer | undefined;

  constructor(
    readonly id: string,
    readonly keyType: KeyType,
    privateKey: KeyObject,
    readonly location: string,
  ) {
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
  }

  signer(): Signer {
    return (this.#signer ??= softwareSigner(this.#privateKey));
  }
}

/** A fresh private key; generation runs on the thread pool (RSA takes tens of milliseconds). */
export function generatePrivateKey(keyType: KeyType): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
    switch (keyType) {
      case 'ec-p256':
        return generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
      case 'ec-p384':
        return generateKeyPair('ec', { namedCurve: 'secp384r1' }, done);
      case 'rsa-2048':
        return generateKeyPair('rsa', { modulusLength: 2048 }, done);
    }
  });
}

/** The KeyType a key really is, so a stored key's recorded type can be checked against it. */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ec-p256';
    if (details?.namedCurve === 'secp384r1') return 'ec-p384';
  }
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) return 'rsa-2048';
  return undefined;
}

/** The checks every key manager makes on generateKey's arguments, with the same messages. */
export function checkGenerateArgs(type: string, id: unknown, keyType: unknown): void {
  checkKeyId(type, id);
  if (!isKeyType(keyType)) {
    throw new KeyManagerError(
      type,
      KeyManagerErrorCode.invalid,
      `key type ${JSON.stringify(keyType)} is not supported: use one of ${KEY_TYPES.join(', ')}`,
    );
  }
}

export function checkKeyId(type: string, id: unknown): void {
  const problem = keyIdProblem(id);
  if (problem !== undefined) throw new KeyManagerError(type, KeyManagerErrorCode.invalid, problem);
}

/** listKeys order: by id, byte-wise, so every key manager lists alike. */
export function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function closedError(type: string): KeyManagerError {
  return new KeyManagerError(type, KeyManagerErrorCode.closed, 'the key manager is closed: open a new one');
}
