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

/** A package definition for a proto file under proto/ (e.g. "sigil/agent/v1/agent.proto"). */
export function loadProto(file: string): PackageDefinition {
  let def = cache.get(file);
  if (def === undefined) {
    // google/protobuf/*.proto come from definitions bundled in protobufjs, so only proto/ is needed.
    def = loadSync(file, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [PROTO_DIR],
    });
    cache.set(file, def);
  }
  return def;
}
