/**
 * The disk key manager's file: one JSON document of PKCS#8 PEM private keys by key id.
 *
 *   { "version": 1, "keys": { "x509-CA-A": { "type": "ec-p256", "pkcs8": "-----BEGIN PRIVATE KEY-----…" } } }
 *
 * It is replaced whole on every change (temp file, fsync, rename, fsync of the directory), so a
 * crash leaves either the old file or the new one. Anything else found there is an error naming the
 * file: silently starting with no keys would replace the CA that every agent trusts.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageOf } from '../../../spiffe/errors.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import { isKeyType, keyIdProblem, type KeyType } from '../key-manager.js';
import { byId, keyTypeOf } from '../software-key.js';

export const DISK_TYPE = 'disk';

const VERSION = 1;

export interface StoredKey {
  readonly id: string;
  readonly keyType: KeyType;
  readonly privateKey: KeyObject;
  /** The key as the file holds it, kept so that rewriting the file re-encodes nothing. */
  readonly pkcs8: string;
}

export function storedKey(id: string, keyType: KeyType, privateKey: KeyObject): StoredKey {
  return { id, keyType, privateKey, pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function corrupt(path: string, detail: string, cause?: unknown): KeyManagerError {
  return new KeyManagerError(
    DISK_TYPE,
    KeyManagerErrorCode.corrupt,
    `keys file ${path} is corrupt: ${detail}; restore it from a backup, or move it away to start with new keys ` +
      '(the server then creates a new CA that agents must be given)',
    { cause },
  );
}

/** The keys in `path`; an empty map when the file does not exist yet. */
export async function readKeysFile(path: string): Promise<Map<string, StoredKey>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new KeyManagerError(DISK_TYPE, KeyManagerErrorCode.io, `cannot read keys file ${path}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  return parseKeysFile(path, text);
}

export function parseKeysFile(path: string, text: string): Map<string, StoredKey> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw corrupt(path, `not JSON (${messageOf(err)})`, err);
  }
  if (!isObject(doc)) throw corrupt(path, 'the document is not a JSON object');
  if (doc['version'] !== VERSION) throw corrupt(path, `version is ${JSON.stringify(doc['version'])}, expected ${VERSION}`);
  const keys = doc['keys'];
  if (!isObject(keys)) throw corrupt(path, '"keys" is not a JSON object');
  const out = new Map<string, StoredKey>();
  for (const [id, entry] of Object.entries(keys)) {
    const idProblem = keyIdProblem(id);
    if (idProblem !== undefined) throw corrupt(path, idProblem);
    out.set(id, parseEntry(path, id, entry));
  }
  return out;
}

function parseEntry(path: string, id: string, entry: unknown): StoredKey {
  if (!isObject(entry)) throw corrupt(path, `key "${id}" is not a JSON object`);
  const keyType = entry['type'];
  if (!isKeyType(keyType)) throw corrupt(path, `key "${id}" has unknown type ${JSON.stringify(keyType)}`);
  const pem = entry['pkcs8'];
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw corrupt(path, `key "${id}" has no PKCS#8 PEM private key`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw corrupt(path, `key "${id}" cannot be read (${messageOf(err)})`, err);
  }
  const actual = keyTypeOf(privateKey);
  if (actual !== keyType) throw corrupt(path, `key "${id}" is recorded as ${keyType} but is ${actual ?? 'unsupported'}`);
  return { id, keyType, privateKey, pkcs8: pem };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The file's text for `keys`, ids in order so the same keys always give the same bytes. */
export function encodeKeysFile(keys: Iterable<StoredKey>): string {
  const sorted = [...keys].sort(byId);
  const entries: Record<string, { type: KeyType; pkcs8: string }> = {};
  for (const k of sorted) entries[k.id] = { type: k.keyType, pkcs8: k.pkcs8 };
  return JSON.stringify({ version: VERSION, keys: entries }, null, 2) + '\n';
}

/** Creates the directory (0700) that will hold the keys file, when it does not exist. */
export async function ensureKeysDirectory(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new KeyManagerError(DISK_TYPE, KeyManagerErrorCode.io, `cannot create the directory of keys file ${path}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/** Replaces `path` with `text` (mode 0600) so that readers and crashes see the old or the new file whole. */
export async function writeKeysFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(tmp, 'wx', 0o600);
    try {
      // The umask could have taken bits from the mode given to open; a private key file is 0600 exactly.
      await file.chmod(0o600);
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    // Without this the rename itself can be lost on power failure, leaving the old keys.
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new KeyManagerError(DISK_TYPE, KeyManagerErrorCode.io, `cannot write keys file ${path}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
