/**
 * Wiring for CA tests: a ServerCa over fake stores and a recording logger, workload keys, and
 * `openssl verify` as an independent judge of the chains the CA issues.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerCa, type ServerCaOptions } from '../../server/ca/ca.js';
import type { KeyType } from '../../server/keymanager/key-manager.js';
import { MemoryKeyManager } from '../../server/keymanager/memory/memory.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { FakeBundleStore } from './bundle-store.js';
import { FakeCaJournalStore } from './ca-journal-store.js';
import { RecordingLogger } from '../support/recording-logger.js';

export const TD = TrustDomain.fromString('example.org');

export { RecordingLogger, type LogLine } from '../support/recording-logger.js';

export interface TestCa {
  ca: ServerCa;
  bundles: FakeBundleStore;
  journals: FakeCaJournalStore;
  logger: RecordingLogger;
  options: ServerCaOptions;
}

/** A ServerCa for example.org on a memory key manager and fresh fake stores, unless overridden. */
export async function startTestCa(overrides: Partial<ServerCaOptions> = {}): Promise<TestCa> {
  const bundles = (overrides.bundles as FakeBundleStore | undefined) ?? new FakeBundleStore();
  const journals = (overrides.journals as FakeCaJournalStore | undefined) ?? new FakeCaJournalStore();
  const logger = (overrides.logger as RecordingLogger | undefined) ?? new RecordingLogger();
  const options: ServerCaOptions = {
    trustDomain: TD,
    keyManager: new MemoryKeyManager(),
    serverInstanceId: 'server-1',
    ...overrides,
    bundles,
    journals,
    logger,
  };
  return { ca: await ServerCa.start(options), bundles, journals, logger, options };
}

/** A workload's key pair, as an agent would generate it before sending a CSR. */
export function workloadKey(type: KeyType = 'ec-p256'): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (type) {
    case 'ec-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ec-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

export function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

export function writePem(dir: string, name: string, certs: readonly X509Certificate[]): string {
  const path = join(dir, name);
  writeFileSync(path, certs.map((c) => c.toString()).join(''));
  return path;
}

/**
 * `openssl verify -x509_strict -purpose any -CAfile <roots> [-untrusted <intermediates>] <leaf>`,
 * with the certificates written as PEM into `dir`. Returns openssl's exit status and output.
 */
export function opensslVerify(
  dir: string,
  chain: { roots: readonly X509Certificate[]; intermediates?: readonly X509Certificate[]; leaf: X509Certificate },
): { status: number | null; output: string } {
  const args = ['verify', '-x509_strict', '-CAfile', writePem(dir, 'roots.pem', chain.roots)];
  if (chain.intermediates !== undefined && chain.intermediates.length > 0) {
    args.push('-untrusted', writePem(dir, 'intermediates.pem', chain.intermediates));
  }
  args.push(writePem(dir, 'leaf.pem', [chain.leaf]));
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Runs openssl with `args` in `dir`, failing the test with its output when it fails. */
export function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}
