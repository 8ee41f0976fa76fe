/**
 * Flags over the config file over defaults. Each layer is parsed on its own (so a problem names
 * the flag or the file key that caused it), then merged key by key, then defaults fill the rest.
 * Nothing here touches the disk except reading the file: a bad config leaves no trace behind.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { messageOf } from '../../spiffe/errors.js';
import type { KeyManagerConfig } from '../keymanager/builtins.js';
import {
  DATASTORE_FILE, DEFAULT_ADMIN_SOCKET, DEFAULT_BIND, DEFAULT_CA_TTL_SECONDS, DEFAULT_DATA_DIR,
  DEFAULT_JWT_SVID_TTL_SECONDS, DEFAULT_KEY_TYPE, DEFAULT_LOG_LEVEL, DEFAULT_X509_SVID_TTL_SECONDS, KEYS_FILE,
} from './defaults.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import { flagLabel, type ConfigFlags } from './flags.js';
import { keyName, problemsOf, type KeyPath } from './issues.js';
import { fileSchema, type ConfigLayer } from './schema.js';
import type { ServerConfig, TpmAttestorConfig } from './types.js';

/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface ConfigSources {
  /** The parsed config file (any YAML value; absent when there is no file). */
  file?: unknown;
  flags?: ConfigFlags;
  /** Relative paths are resolved against it; default process.cwd(). */
  cwd?: string;
}

/** Reads `path` as YAML: one document, whose value may be anything (the schema judges it). */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.unreadable, [`cannot read ${path}: ${messageOf(err)}`], { cause: err });
  }
  return parseYamlConfig(text, path);
}

export function parseYamlConfig(text: string, source: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (docs.length > 1) throw new ConfigError(ConfigErrorCode.unreadable, [`${source}: holds ${docs.length} YAML documents; use one`]);
  const doc = docs[0];
  if (doc === undefined) return null;
  // prettyErrors puts the position on the first line, ending in a colon before a code frame.
  const errors = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
  if (errors.length > 0) throw new ConfigError(ConfigErrorCode.unreadable, errors);
  return doc.toJS();
}

/** Reads the file (if any) and resolves: the whole of what `sigil server run` needs before it starts. */
export async function loadConfig(options: { configFile?: string; flags?: ConfigFlags; cwd?: string }): Promise<ServerConfig> {
  const file = options.configFile === undefined ? undefined : await readConfigFile(options.configFile);
  return resolveConfig({ file, flags: options.flags, cwd: options.cwd });
}

function parseLayer(input: unknown, label: (path: KeyPath) => string, problems: string[]): ConfigLayer {
  const r = fileSchema.safeParse(input);
  if (r.success) return r.data;
  problems.push(...problemsOf(r.error, input, label));
  return {};
}

function fileLabel(path: KeyPath): string {
  return path.length === 0 ? 'the file' : keyName(path);
}

function flagLayerInput(flags: ConfigFlags): Record<string, string> {
  const { tpmEkCa: _lists, ...scalars } = flags;
  return Object.fromEntries(Object.entries(scalars).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

const DIGEST_BYTES = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;

/** nodeAttestors.tpm after --tpm-ek-ca (which replaces ekCaBundles); undefined when nothing turns it on. */
function tpmOf(layer: ConfigLayer, flags: ConfigFlags, abs: (p: string) => string, problems: string[]): TpmAttestorConfig | undefined {
  const t = layer.nodeAttestors?.tpm;
  const given = flags.tpmEkCa?.filter((p) => p.trim() !== '');
  if (flags.tpmEkCa !== undefined && given?.length !== flags.tpmEkCa.length) problems.push('--tpm-ek-ca: must not be empty');
  const ekCaBundles = (given !== undefined && given.length > 0 ? given : (t?.ekCaBundles ?? [])).map(abs);
  const ekHashAllowList = (t?.ekHashAllowList ?? []).map((h) => h.toLowerCase());
  const pcrPolicy: TpmAttestorConfig['pcrPolicy'] = {};
  for (const [bank, byIndex] of Object.entries(t?.pcrPolicy ?? {}) as [keyof typeof DIGEST_BYTES, Record<string, string>][]) {
    const out: Record<number, string> = {};
    for (const [index, hex] of Object.entries(byIndex)) {
      if (!/^(1?\d|2[0-3])$/.test(index)) problems.push(`nodeAttestors.tpm.pcrPolicy.${bank}.${index}: is not a PCR index; PCR indices are 0 to 23`);
      if (hex.length !== DIGEST_BYTES[bank] * 2) {
        problems.push(`nodeAttestors.tpm.pcrPolicy.${bank}.${index}: a ${bank} PCR value has ${DIGEST_BYTES[bank] * 2} hex digits, not ${hex.length}`);
      }
      out[Number(index)] = hex.toLowerCase();
    }
    pcrPolicy[bank] = out;
  }
  if (ekCaBundles.length === 0 && ekHashAllowList.length === 0) {
    if (t !== undefined) {
      problems.push('nodeAttestors.tpm: needs ekCaBundles (or --tpm-ek-ca) or ekHashAllowList: with neither, no TPM could ever attest');
    }
    return undefined;
  }
  return { ekCaBundles, ekHashAllowList, pcrPolicy };
}

export function resolveConfig(sources: ConfigSources): ServerConfig {
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];
  const fileInput = sources.file === null || sources.file === undefined ? {} : sources.file;
  const file = parseLayer(fileInput, fileLabel, problems);
  const flags = parseLayer(flagLayerInput(sources.flags ?? {}), flagLabel, problems);
  if (problems.length > 0) throw new ConfigError(ConfigErrorCode.invalid, problems);

  // Flags only set top-level scalars, so a shallow merge is the whole of "flag over file".
  const c: ConfigLayer = { ...file, ...flags };
  if (c.trustDomain === undefined) {
    throw new ConfigError(ConfigErrorCode.invalid, ['trustDomain: is required: set it in the config file or with --trust-domain']);
  }
  const abs = (p: string): string => resolve(cwd, p);
  const dataDir = abs(c.dataDir ?? DEFAULT_DATA_DIR);
  const adminSocket = abs(c.adminSocket ?? DEFAULT_ADMIN_SOCKET);
  if (Buffer.byteLength(adminSocket) > MAX_SOCKET_PATH_BYTES) {
    const where = sources.flags?.adminSocket !== undefined ? '--admin-socket' : 'adminSocket';
    throw new ConfigError(ConfigErrorCode.invalid, [
      `${where}: ${adminSocket} is ${Buffer.byteLength(adminSocket)} bytes; a Unix socket path is at most ${MAX_SOCKET_PATH_BYTES}`,
    ]);
  }
  const tpm = tpmOf(c, sources.flags ?? {}, abs, problems);
  if (problems.length > 0) throw new ConfigError(ConfigErrorCode.invalid, problems);
  const keyType = c.ca?.keyType ?? c.ca?.keyManager?.keyType ?? DEFAULT_KEY_TYPE;
  const x509TtlSeconds = c.svid?.x509Ttl ?? DEFAULT_X509_SVID_TTL_SECONDS;
  const upstream = c.ca?.upstream;
  return {
    trustDomain: c.trustDomain,
    bind: c.bind ?? { ...DEFAULT_BIND },
    adminSocket,
    dataDir,
    datastore: c.datastore ?? `sqlite:${join(dataDir, DATASTORE_FILE)}`,
    logLevel: c.logLevel ?? DEFAULT_LOG_LEVEL,
    ca: {
      keyType,
      ttlSeconds: c.ca?.ttl ?? DEFAULT_CA_TTL_SECONDS,
      subject: c.ca?.subject === undefined ? undefined : { ...c.ca.subject },
      keyManager: keyManagerOf(c.ca?.keyManager, dataDir, abs),
      upstream: upstream && { certFile: abs(upstream.certFile), keyFile: abs(upstream.keyFile), bundleFile: abs(upstream.bundleFile) },
    },
    svid: {
      x509TtlSeconds,
      jwtTtlSeconds: c.svid?.jwtTtl ?? DEFAULT_JWT_SVID_TTL_SECONDS,
      agentTtlSeconds: c.svid?.agentTtl ?? x509TtlSeconds,
    },
    jwt: { keyType: c.jwt?.keyType ?? keyType },
    serverDnsNames: [...(c.serverDnsNames ?? [])],
    nodeAttestors: { tpm },
  };
}

type KeyManagerLayer = NonNullable<NonNullable<ConfigLayer['ca']>['keyManager']>;

function keyManagerOf(km: KeyManagerLayer | undefined, dataDir: string, abs: (p: string) => string): KeyManagerConfig {
  if (km?.type === 'memory') return { type: 'memory' };
  if (km?.type === 'pkcs11') {
    // The schema made sure module, one of tokenLabel/slot and one of pinFile/pinEnv are set.
    const { module, tokenLabel, slot, pinFile, pinEnv, keyLabelPrefix, sessions } = km;
    return {
      type: 'pkcs11',
      // A bare file name is left to the dynamic loader's search path, as dlopen does.
      module: module!.includes('/') ? abs(module!) : module!,
      ...(tokenLabel !== undefined && { tokenLabel }),
      ...(slot !== undefined && { slot }),
      ...(pinFile !== undefined && { pinFile: abs(pinFile) }),
      ...(pinEnv !== undefined && { pinEnv }),
      ...(keyLabelPrefix !== undefined && { keyLabelPrefix }),
      ...(sessions !== undefined && { sessions }),
    };
  }
  return { type: 'disk', keysPath: km?.keysPath === undefined ? join(dataDir, KEYS_FILE) : abs(km.keysPath) };
}
