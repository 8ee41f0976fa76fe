/**
 * Loads this folder's .proto files at run time (no generated code), with one set of options for
 * every service so that the server, the agent and the tests decode messages the same way:
 * field names as written in the proto (snake_case), 64-bit integers as strings (exact), bytes as
 * Buffers, defaults filled in.
 */
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The proto/ directory: beside this file in the source tree, two levels up from dist/proto/. */
export const PROTO_DIR = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [here, resolve(here, '..', '..', 'proto')]) {
    if (existsSync(join(candidate, 'workload.proto'))) return candidate;
  }
  throw new Error(`proto: cannot find workload.proto near ${here}`);
})();

const cache = new Map<string, PackageDefinition>();

/**
 * A package definition for proto files under proto/ (e.g. "sigil/agent/v1/agent.proto"). Several
 * files load into one root, which an Any needs: a message packed as `{ '@type': url, ...fields }` is
 * encoded only when its type is in the same root as the message holding the Any.
 */
export function loadProto(file: string | readonly string[]): PackageDefinition {
  const key = typeof file === 'string' ? file : file.join('\0');
  let def = cache.get(key);
  if (def === undefined) {
    // google/protobuf/*.proto come from definitions bundled in protobufjs, so only proto/ is needed.
    def = loadSync(typeof file === 'string' ? file : [...file], {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [PROTO_DIR],
    });
    cache.set(key, def);
  }
  return def;
}
