/**
 * The config file's shape: camelCase keys (SPIRE's names without the underscores, grouped), every
 * key optional here because flags and defaults fill in after (load.ts). Objects are strict, so an
 * unknown key at any depth is an error naming it. Flags are parsed with the same schema, so a bad
 * `--bind` and a bad `bind:` get the same message.
 */
import { z } from 'zod';
import { KEY_TYPES } from '../keymanager/key-manager.js';
import { MAX_SESSIONS } from '../keymanager/pkcs11/config.js';
import { LOG_LEVELS } from '../logger.js';
import {
  country, datastoreUrl, dnsName, duration, envName, hostPort, labelPrefix, nameAttribute, oneOf, path, trustDomain, wholeNumber,
} from './values.js';

export const KEY_MANAGER_TYPES = ['disk', 'memory', 'pkcs11'] as const;

/** An empty YAML block (`ca:` with everything under it commented out) is null: read it as absent. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

/** The keys only one key manager type reads, by type: set under another type they are mistakes. */
const KEYS_OF_TYPE = {
  keysPath: 'disk',
  module: 'pkcs11',
  tokenLabel: 'pkcs11',
  slot: 'pkcs11',
  pinFile: 'pkcs11',
  pinEnv: 'pkcs11',
  keyLabelPrefix: 'pkcs11',
  sessions: 'pkcs11',
} as const;

const keyManager = z
  .strictObject({
    type: oneOf(KEY_MANAGER_TYPES),
    /** The CA key's type, as ca.keyType (either may say it; they must agree). */
    keyType: oneOf(KEY_TYPES).optional(),
    keysPath: path.optional(),
    module: path.optional(),
    tokenLabel: z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters (a PKCS#11 token label)').optional(),
    slot: wholeNumber(0, 1_000_000).optional(),
    pinFile: path.optional(),
    pinEnv: envName.optional(),
    keyLabelPrefix: labelPrefix.optional(),
    sessions: wholeNumber(1, MAX_SESSIONS).optional(),
  })
  .superRefine((km, ctx) => {
    for (const [key, type] of Object.entries(KEYS_OF_TYPE)) {
      if (km[key as keyof typeof KEYS_OF_TYPE] !== undefined && km.type !== type) {
        ctx.addIssue({ code: 'custom', path: [key], message: `only applies to type ${type}, not ${km.type}` });
      }
    }
    if (km.type !== 'pkcs11') return;
    if (km.module === undefined) ctx.addIssue({ code: 'custom', path: ['module'], message: 'is required for type pkcs11: the PKCS#11 library path' });
    if ((km.tokenLabel === undefined) === (km.slot === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tokenLabel'], message: 'set exactly one of tokenLabel and slot for type pkcs11' });
    }
    if ((km.pinFile === undefined) === (km.pinEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['pinFile'], message: 'set exactly one of pinFile and pinEnv for type pkcs11 (the PIN itself never goes in the config)' });
    }
  });

const ca = z
  .strictObject({
    keyType: oneOf(KEY_TYPES).optional(),
    ttl: duration.optional(),
    subject: section(
      z.strictObject({
        country: country.optional(),
        organization: nameAttribute.optional(),
        commonName: nameAttribute.optional(),
      }),
    ),
    keyManager: section(keyManager),
    upstream: section(z.strictObject({ certFile: path, keyFile: path, bundleFile: path })),
  })
  .superRefine((c, ctx) => {
    const kmType = c.keyManager?.keyType;
    if (kmType !== undefined && c.keyType !== undefined && kmType !== c.keyType) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyManager', 'keyType'],
        message: `is ${kmType} but ca.keyType is ${c.keyType}: both name the CA key's type, so set one of them`,
      });
    }
  });

const hexDigest = z.string().refine((s) => /^([0-9a-fA-F]{2}){20,64}$/.test(s), 'must be a hex digest (40 to 128 hex digits)');

/** nodeAttestors.tpm: EK trust (manufacturer CA bundles and/or an EK hash allow-list) and the PCR policy. */
const tpmAttestor = z.strictObject({
  ekCaBundles: z.array(path).optional(),
  ekHashAllowList: z.array(z.string().refine((s) => /^[0-9a-fA-F]{64}$/.test(s), 'must be a SHA-256 hex digest (64 hex digits)')).optional(),
  /** Expected PCR values: bank → PCR index (0-23) → hex digest. */
  pcrPolicy: section(
    z.partialRecord(
      z.enum(['sha1', 'sha256', 'sha384', 'sha512']),
      // Indices are checked in load.ts: zod reports a refused record key without its message.
      z.record(z.string(), hexDigest),
    ),
  ),
});

export const fileSchema = z.strictObject({
  trustDomain: trustDomain.optional(),
  bind: hostPort.optional(),
  adminSocket: path.optional(),
  dataDir: path.optional(),
  datastore: datastoreUrl.optional(),
  logLevel: oneOf(LOG_LEVELS).optional(),
  ca: section(ca),
  svid: section(
    z.strictObject({
      x509Ttl: duration.optional(),
      jwtTtl: duration.optional(),
      agentTtl: duration.optional(),
    }),
  ),
  jwt: section(z.strictObject({ keyType: oneOf(KEY_TYPES).optional() })),
  serverDnsNames: z.array(dnsName).optional(),
  nodeAttestors: section(z.strictObject({ tpm: section(tpmAttestor) })),
});

/** One layer of config (the file, or the flags), parsed but not yet merged or defaulted. */
export type ConfigLayer = z.output<typeof fileSchema>;

/** The keys each object accepts, by the object's path (`''` for the top, `ca.keyManager`): for "did you mean". */
export function knownKeys(objectPath: string): readonly string[] {
  let schema: z.ZodType | undefined = fileSchema;
  for (const key of objectPath === '' ? [] : objectPath.split('.')) schema = childOf(schema, key);
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

function childOf(schema: z.ZodType | undefined, key: string): z.ZodType | undefined {
  return schema === undefined ? undefined : shapeOf(schema)?.[key];
}
