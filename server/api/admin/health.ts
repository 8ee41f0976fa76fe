/** HealthService: `sigil server healthcheck`. A failing check is an answer (ready=false), not an error. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { messageOf } from '../../../spiffe/errors.js';
import type { HandlerContext } from './context.js';
import type { CheckResponseMsg } from './messages.js';
import { unary } from './rpc.js';

export function healthService(ctx: HandlerContext): UntypedServiceImplementation {
  return {
    Check: unary<{ shallow: boolean }, CheckResponseMsg>(ctx.logger, 'HealthService/Check', async (req) => {
      // Shallow: the server process answers on its socket, which is all a liveness probe asks.
      if (req.shallow === true) return { ready: true, checks: {} };
      let report;
      try {
        report = await ctx.health();
      } catch (err) {
        ctx.logger.warn(`admin: the health check failed: ${messageOf(err)}`);
        return { ready: false, checks: { health: { ok: false, detail: `the health check failed: ${messageOf(err)}` } } };
      }
      const checks: CheckResponseMsg['checks'] = {};
      for (const [name, c] of Object.entries(report.checks)) checks[name] = { ok: c.ok, detail: c.detail ?? '' };
      return { ready: report.ready, checks };
    }),
  };
}
