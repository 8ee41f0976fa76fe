/**
 * Flags over the config file over defaults, as the server does: each layer is parsed on its own
 * (so a problem names the flag or the file key that caused it), merged key by key, then defaulted.
 * Nothing here touches the disk except reading the file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { messageOf } from '../../spiffe/errors.js';
import { DEFAULT_DATA_DIR, DEFAULT_LOG_LEVEL, DEFAULT_SERVER_ADDRESS, DEFAULT_SOCKET_PATH, DEFAULT_WORKLOAD_KEY_TYPE } from './defaults.js';
import { AgentConfigError, AgentConfigErrorCode } from './errors.js';
import { flagLabel, type ConfigFlags } from './flags.js';
import { keyName, problemsOf, type KeyPath } from './issues.js';
import { fileSchema, type ConfigLayer } from './schema.js';
import type { AgentConfig, Bootstrap, SdsConfig } from './types.js';
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
  const given = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined));
  const flags = parseLayer(given, flagLabel, problems);
  if (problems.length > 0) throw new AgentConfigError(AgentConfigErrorCode.invalid, problems);

  // Flags only set top-level scalars, so a shallow merge is the whole of "flag over file".
  const c: ConfigLayer = { ...file, ...flags };
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
  const sds: SdsConfig = { ...DEFAULT_SDS_SETTINGS, ...Object.fromEntries(Object.entries(c.sds ?? {}).filter(([, v]) => v !== undefined)) };
  problems.push(...settingsProblems(sds));
  if (problems.length > 0 || c.trustDomain === undefined || bootstrap === undefined) {
    throw new AgentConfigError(AgentConfigErrorCode.invalid, problems);
  }
  const unix = c.workloadAttestors === undefined ? {} : c.workloadAttestors.unix;
  return {
    trustDomain: c.trustDomain,
    serverAddress: c.serverAddress ?? { ...DEFAULT_SERVER_ADDRESS },
    joinToken: c.joinToken,
    bootstrap,
    socketPath,
    dataDir: abs(c.dataDir ?? DEFAULT_DATA_DIR),
    logLevel: c.logLevel ?? DEFAULT_LOG_LEVEL,
    workloadKeyType: c.workloadKeyType ?? DEFAULT_WORKLOAD_KEY_TYPE,
    workloadAttestors: unix === undefined ? {} : { unix: { ...unix } },
    sds,
  };
}
