/**
 * Flags over the config file over defaults, as the server does: each layer is parsed on its own
 * (so a problem names the flag or the file key that caused it), merged key by key, then defaulted.
 * Nothing here touches the disk except reading the file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BUILTIN_WORKLOAD_ATTESTOR_TYPES, isBuiltinWorkloadAttestorType } from '../../attestors/workload/builtins.js';
import { k8sConfigProblems } from '../../attestors/workload/k8s/config.js';
import { messageOf } from '../../spiffe/errors.js';
import {
  DEFAULT_DATA_DIR, DEFAULT_LOG_LEVEL, DEFAULT_SERVER_ADDRESS, DEFAULT_SOCKET_PATH, DEFAULT_TPM_PCRS, DEFAULT_TPM_TCTI, DEFAULT_WORKLOAD_KEY_TYPE,
} from './defaults.js';
import { AgentConfigError, AgentConfigErrorCode } from './errors.js';
import { CONFIG_FLAGS, flagLabel, type ConfigFlags } from './flags.js';
import { keyName, problemsOf, type KeyPath } from './issues.js';
import { fileSchema, type ConfigLayer } from './schema.js';
import type { AgentConfig, Bootstrap, SdsConfig, TpmNodeAttestorConfig, WorkloadAttestorsConfig } from './types.js';
import { DEFAULT_SDS_SETTINGS, settingsProblems } from '../sds/settings.js';

/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface ConfigSources {
  /** The parsed config file (any YAML value; absent when there is no file). */
  file?: unknown;
  flags?: ConfigFlags;
  /** Relative paths are resolved against it; default process.cwd(). */
  cwd?: string;
}

export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(AgentConfigErrorCode.unreadable, [`cannot read ${path}: ${messageOf(err)}`], { cause: err });
  }
  return parseYamlConfig(text, path);
}

export function parseYamlConfig(text: string, source: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (docs.length > 1) throw new AgentConfigError(AgentConfigErrorCode.unreadable, [`${source}: holds ${docs.length} YAML documents; use one`]);
  const doc = docs[0];
  if (doc === undefined) return null;
  const errors = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
  if (errors.length > 0) throw new AgentConfigError(AgentConfigErrorCode.unreadable, errors);
  return doc.toJS();
}

export async function loadConfig(options: { configFile?: string; flags?: ConfigFlags; cwd?: string }): Promise<AgentConfig> {
  const file = options.configFile === undefined ? undefined : await readConfigFile(options.configFile);
  return resolveConfig({ file, flags: options.flags, cwd: options.cwd });
}

function parseLayer(input: unknown, label: (path: KeyPath) => string, problems: string[]): ConfigLayer {
  const r = fileSchema.safeParse(input);
  if (r.success) return r.data;
  problems.push(...problemsOf(r.error, input, label));
  return {};
}

const fileLabel = (path: KeyPath): string => (path.length === 0 ? 'the file' : keyName(path));

export function resolveConfig(sources: ConfigSources): AgentConfig {
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];
  const file = parseLayer(sources.file ?? {}, fileLabel, problems);
  const flags = parseLayer(flagLayerInput(sources.flags ?? {}, problems), flagLabel, problems);
  if (problems.length > 0) throw new AgentConfigError(AgentConfigErrorCode.invalid, problems);

  // Flags set top-level scalars and the k8s attestor's settings: a shallow merge plus that one.
  const c: ConfigLayer = { ...file, ...flags, workloadAttestors: file.workloadAttestors, nodeAttestor: { ...file.nodeAttestor, ...flags.nodeAttestor } };
  const workloadAttestors = mergeAttestors(file, flags, sources.flags?.workloadAttestor, problems);
  const where = (key: keyof ConfigFlags, flag: string): string => (sources.flags?.[key] !== undefined ? flag : key);
  if (c.trustDomain === undefined) problems.push('trustDomain: is required: set it in the config file or with --trust-domain');
  const abs = (p: string): string => resolve(cwd, p);
  const socketPath = abs(c.socketPath ?? DEFAULT_SOCKET_PATH);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    problems.push(
      `${where('socketPath', '--socket-path')}: ${socketPath} is ${Buffer.byteLength(socketPath)} bytes; a Unix socket path is at most ${MAX_SOCKET_PATH_BYTES}`,
    );
  }
  let bootstrap: Bootstrap | undefined;
  if (c.trustBundle !== undefined && c.insecureBootstrap === true) {
    problems.push(
      `${where('trustBundle', '--trust-bundle')}: cannot be combined with ${where('insecureBootstrap', '--insecure-bootstrap')}: give the bundle, or trust on first use, not both`,
    );
  } else if (c.trustBundle !== undefined) {
    bootstrap = { kind: 'bundle', path: abs(c.trustBundle) };
  } else if (c.insecureBootstrap === true) {
    bootstrap = { kind: 'insecure' };
  } else {
    problems.push('trustBundle: is required to trust the server: set trustBundle (--trust-bundle FILE) or insecureBootstrap (--insecure-bootstrap)');
  }
  const tpm = tpmOf(c, where, problems);
  const sds: SdsConfig = { ...DEFAULT_SDS_SETTINGS, ...Object.fromEntries(Object.entries(c.sds ?? {}).filter(([, v]) => v !== undefined)) };
  problems.push(...settingsProblems(sds));
  if (problems.length > 0 || c.trustDomain === undefined || bootstrap === undefined) {
    throw new AgentConfigError(AgentConfigErrorCode.invalid, problems);
  }
  return {
    trustDomain: c.trustDomain,
    serverAddress: c.serverAddress ?? { ...DEFAULT_SERVER_ADDRESS },
    joinToken: c.joinToken,
    bootstrap,
    socketPath,
    dataDir: abs(c.dataDir ?? DEFAULT_DATA_DIR),
    logLevel: c.logLevel ?? DEFAULT_LOG_LEVEL,
    workloadKeyType: c.workloadKeyType ?? DEFAULT_WORKLOAD_KEY_TYPE,
    workloadAttestors: resolveAttestorPaths(workloadAttestors, abs),
    tpm,
    sds,
  };
}

function tpmOf(c: ConfigLayer, where: (key: keyof ConfigFlags, flag: string) => string, problems: string[]): TpmNodeAttestorConfig | undefined {
  const n = c.nodeAttestor ?? {};
  const type = n.type ?? (c.joinToken !== undefined ? 'join_token' : undefined);
  if (type !== 'tpm') {
    const stray = (['tcti', 'pcrs', 'pcrBank', 'ekAlgorithm'] as const).filter((k) => n[k] !== undefined);
    if (stray.length > 0) {
      problems.push(`nodeAttestor.${stray[0]}: only applies to nodeAttestor type tpm (set it with --node-attestor tpm or nodeAttestor.type)`);
    }
    if (type === 'join_token' && c.joinToken === undefined && n.type !== undefined) {
      problems.push(`${where('nodeAttestor', '--node-attestor')}: join_token needs a join token (--join-token or joinToken)`);
    }
    return undefined;
  }
  if (c.joinToken !== undefined) {
    problems.push(`${where('joinToken', '--join-token')}: cannot be combined with nodeAttestor type tpm: the TPM is the credential`);
  }
  return {
    tcti: n.tcti ?? DEFAULT_TPM_TCTI,
    pcrs: [...new Set(n.pcrs ?? DEFAULT_TPM_PCRS)].sort((a, b) => a - b),
    pcrBank: n.pcrBank ?? 'sha256',
    ekAlgorithm: n.ekAlgorithm ?? 'rsa',
  };
}

/**
 * The flags as a config layer: each value at its key path (flags.ts), `--workload-attestor`'s names
 * as empty attestor sections (an unknown name is reported here, with the names there are).
 */
function flagLayerInput(flags: ConfigFlags, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of CONFIG_FLAGS) {
    const v = flags[spec.key];
    if (v === undefined || spec.key === 'workloadAttestor') continue;
    let at = out;
    const path = spec.path ?? [spec.key];
    for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]!] = v;
  }
  for (const name of flags.workloadAttestor ?? []) {
    if (!isBuiltinWorkloadAttestorType(name)) {
      problems.push(`--workload-attestor: ${JSON.stringify(name)} is not a workload attestor; use one of ${BUILTIN_WORKLOAD_ATTESTOR_TYPES.join(', ')}`);
    }
  }
  return out;
}

type Attestors = NonNullable<ConfigLayer['workloadAttestors']>;

/**
 * Which attestors run: those `--workload-attestor` names, else the file's, else unix alone. Each
 * keeps its file settings, with the k8s flags over them; k8s flags for a k8s attestor that does
 * not run are a mistake worth saying.
 */
function mergeAttestors(file: ConfigLayer, flags: ConfigLayer, names: readonly string[] | undefined, problems: string[]): Attestors {
  const fromFile: Attestors = file.workloadAttestors ?? (names === undefined ? { unix: {} } : {});
  const chosen: Attestors = {};
  if (names === undefined) Object.assign(chosen, fromFile);
  else for (const n of names) if (isBuiltinWorkloadAttestorType(n)) chosen[n] = { ...(fromFile[n] ?? {}) };
  const k8sFlags = flags.workloadAttestors?.k8s;
  if (k8sFlags !== undefined) {
    if (chosen.k8s === undefined) {
      const given = CONFIG_FLAGS.filter((f) => f.path?.[1] === 'k8s' && (k8sFlags as Record<string, unknown>)[f.path[2]!] !== undefined).map((f) => f.flag);
      problems.push(`${given.join(', ')}: the k8s workload attestor is not enabled; add --workload-attestor k8s (and unix, to keep it) or workloadAttestors.k8s in the file`);
    } else chosen.k8s = { ...chosen.k8s, ...k8sFlags };
  }
  if (chosen.k8s !== undefined) for (const p of k8sConfigProblems(chosen.k8s)) problems.push(`workloadAttestors.k8s: ${p}`);
  return chosen;
}

/** Copies, with the k8s attestor's file paths made absolute like the agent's own. */
function resolveAttestorPaths(a: Attestors, abs: (p: string) => string): WorkloadAttestorsConfig {
  const out: WorkloadAttestorsConfig = {};
  if (a.unix !== undefined) out.unix = { ...a.unix };
  if (a.k8s !== undefined) {
    const k = { ...a.k8s };
    for (const key of ['kubeletCa', 'kubeletTokenFile', 'kubeletClientCert', 'kubeletClientKey'] as const) {
      const v = k[key];
      if (v !== undefined) k[key] = abs(v);
    }
    out.k8s = k;
  }
  return out;
}
