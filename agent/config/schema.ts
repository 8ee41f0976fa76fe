/**
 * The agent config file's shape: camelCase keys (SPIRE's agent keys without the underscores),
 * every key optional here because flags and defaults fill in after (load.ts). Objects are strict,
 * so an unknown key at any depth is an error naming its path. Flags go through the same schema.
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../logger.js';
import { flag, hostPort, oneOf, path, integer, secret, trustDomain, WORKLOAD_KEY_TYPES } from './values.js';

/** An empty YAML block (everything under it commented out) is null: read it as absent. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

/** `unix:` with nothing under it turns the attestor on with its defaults, so null is an empty mapping. */
function attestor<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? {} : v), schema.optional());
}

const unixAttestor = z.strictObject({
  /** Adds unix:path and unix:sha256 selectors (reads the executable). */
  discoverWorkloadPath: flag.optional(),
  /** Bytes of executable hashed at most for unix:sha256; 0 = no limit, negative = never hash. */
  workloadSizeLimit: integer.optional(),
});

/** The k8s attestor (attestors/workload/k8s/config.ts says what each key does and its default). */
const k8sAttestor = z.strictObject({
  kubeletUrl: path.optional(),
  kubeletCa: path.optional(),
  kubeletTokenFile: path.optional(),
  kubeletClientCert: path.optional(),
  kubeletClientKey: path.optional(),
  skipKubeletVerification: flag.optional(),
  nodeName: path.optional(),
  podListCacheMs: integer.optional(),
  retryTimeoutMs: integer.optional(),
  retryIntervalMs: integer.optional(),
});

export const NODE_ATTESTOR_TYPES = ['join_token', 'tpm'] as const;
export const PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export const EK_ALGORITHMS = ['rsa', 'ecc'] as const;

const pcrIndex = integer.refine((n) => n >= 0 && n <= 23, 'PCR indices are 0 to 23');

/** nodeAttestor: which attestor proves the node; `tpm` takes the keys after `type`. */
const nodeAttestor = z.strictObject({
  type: oneOf(NODE_ATTESTOR_TYPES).optional(),
  /** tctildr configuration: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321. */
  tcti: z.string().refine((s) => s.trim() !== '', 'must not be empty').optional(),
  pcrs: z.array(pcrIndex).optional(),
  pcrBank: oneOf(PCR_BANKS).optional(),
  ekAlgorithm: oneOf(EK_ALGORITHMS).optional(),
});

/** SPIRE's agent `sds` block, camelCase; see agent/sds/settings.ts. */
const sdsSection = z.strictObject({
  defaultSvidName: z.string().optional(),
  defaultBundleName: z.string().optional(),
  defaultAllBundlesName: z.string().optional(),
  disableSpiffeCertValidation: flag.optional(),
});

export const fileSchema = z.strictObject({
  trustDomain: trustDomain.optional(),
  serverAddress: hostPort.optional(),
  joinToken: secret.optional(),
  trustBundle: path.optional(),
  insecureBootstrap: flag.optional(),
  socketPath: path.optional(),
  dataDir: path.optional(),
  logLevel: oneOf(LOG_LEVELS).optional(),
  workloadKeyType: oneOf(WORKLOAD_KEY_TYPES).optional(),
  workloadAttestors: section(z.strictObject({ unix: attestor(unixAttestor), k8s: attestor(k8sAttestor) })),
  nodeAttestor: section(nodeAttestor),
  sds: section(sdsSection),
});

/** One layer of config (the file, or the flags), parsed but not yet merged or defaulted. */
export type ConfigLayer = z.output<typeof fileSchema>;

/** The keys the object at `objectPath` accepts (`''` for the top, `workloadAttestors.unix`), for "did you mean". */
export function knownKeys(objectPath: string): readonly string[] {
  let schema: z.ZodType | undefined = fileSchema;
  for (const key of objectPath === '' ? [] : objectPath.split('.')) schema = schema && shapeOf(schema)?.[key];
  return schema === undefined ? [] : Object.keys(shapeOf(schema) ?? {});
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = schema._zod.def as unknown as Record<string, unknown>;
  if (def['shape']) return def['shape'] as Record<string, z.ZodType>;
  for (const inner of [def['innerType'], def['in'], def['out'], def['schema']]) {
    if (inner instanceof z.ZodType) {
      const s = shapeOf(inner);
      if (s) return s;
    }
  }
  return undefined;
}
