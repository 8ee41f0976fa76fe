/**
 * What the benchmarks of the agent socket share: their baseline, an empty unary call
 * (grpc.health.v1 Check) on the same socket and connection as what is measured, so the ratio shows
 * what a call adds over gRPC; and the logger their in-process servers take.
 */
import { performance } from 'node:perf_hooks';
import { Metadata, type Client } from '@grpc/grpc-js';
import { healthServiceDefinition, type WorkloadApiLogger } from '../../agent/workloadapi/index.js';

const checkMethod = healthServiceDefinition()['Check']!;

/** One health Check on `c`; resolves with its round trip in milliseconds. */
export function emptyCall(c: Client): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(checkMethod.path, checkMethod.requestSerialize, checkMethod.responseDeserialize, { service: '' }, new Metadata(), {}, (err) =>
      err ? reject(err) : resolve(performance.now() - t0),
    );
  });
}

/** Warnings and errors still show: a benchmark that hit one measured something else. */
export const quietLogger: WorkloadApiLogger = { debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error };
