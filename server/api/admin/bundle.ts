/** BundleService: this trust domain's bundle, as the CA publishes it. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { HandlerContext } from './context.js';
import type { BundleMsg } from './messages.js';
import { unary } from './rpc.js';

export function bundleService(ctx: HandlerContext): UntypedServiceImplementation {
  return {
    GetBundle: unary<Record<string, never>, BundleMsg>(ctx.logger, 'BundleService/GetBundle', async () => {
      const bundle = await ctx.ca.bundle();
      return {
        trust_domain: bundle.trustDomain.name,
        x509_authorities: bundle.x509Authorities().map((c) => c.raw),
        jwt_authorities: [...bundle.jwtAuthorities()].map(([kid, key]) => ({
          key_id: kid,
          public_key: key.export({ type: 'spki', format: 'der' }),
        })),
        sequence_number: bundle.sequenceNumber?.toString() ?? '0',
        refresh_hint: bundle.refreshHintSeconds ?? 0,
        spiffe_document: bundle.marshal({ indent: 2 }),
      };
    }),
  };
}
