/**
 * The config file's shape: camelCase keys (SPIRE's names without the underscores, grouped), every
 * key optional here because flags and defaults fill in after (load.ts). Objects are strict, so an
 * unknown key at any depth is an error naming it. Flags are parsed with the same schema, so a bad
 * `--bind` and a bad `bind:` get the same message.
 */
import { z } from 'zod';
import { KEY_TYPES } from '../keymanager/key-manager.js';
import { LOG_LEVELS } from '../logger.js';
import {
  country, datastoreUrl, dnsName, duration, hostPort, nameAttribute, oneOf, path, trustDomain,
} from './values.js';

export const KEY_MANAGER_TYPES = ['disk', 'memory'] as const;

/** An empty YAML block (`ca:` with everything under it commented out) is null: read it as absent. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

const keyManager = z
  .strictObject({
    type: oneOf(KEY_MANAGER_TYPES),
    keysPath: path.optional(),
  })
  .superRefine((km, ctx) => {
    if (km.type !== 'disk' && km.keysPath !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['keysPath'], message: `only applies to type disk, not ${km.type}` });
    }
  });

const ca = z.strictObject({
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
