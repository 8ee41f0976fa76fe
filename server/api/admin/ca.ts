/** CaService: this server's CA and JWT key rotation, for `sigil server ca show|rotate`. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { CaAuthorities, KindName, Schedule } from '../../ca/index.js';
import type { HandlerContext } from './context.js';
import { invalidRequest } from './errors.js';
import type { ListAuthoritiesMsg, RotateRequestMsg, RotationScheduleMsg } from './messages.js';
import { unary } from './rpc.js';

const seconds = (d: Date | undefined): number => (d === undefined ? 0 : Math.floor(d.getTime() / 1000));

const scheduleMsg = (s: Schedule): RotationScheduleMsg => ({ prepare_at: seconds(s.prepareAt), activate_at: seconds(s.activateAt) });

export function authoritiesMsg(a: CaAuthorities): ListAuthoritiesMsg {
  return {
    authorities: a.authorities.map((v) => ({
      kind: v.kind,
      status: v.status,
      slot: v.slot,
      id: v.id,
      key_location: v.keyLocation,
      issued_at: seconds(v.issuedAt),
      not_after: seconds(v.notAfter),
      upstream: v.upstream === true,
      prune_at: seconds(v.pruneAt),
    })),
    x509: scheduleMsg(a.x509),
    jwt: scheduleMsg(a.jwt),
    key_manager: a.keyManager,
  };
}

const KINDS: readonly KindName[] = ['x509', 'jwt'];

function kindsOf(kinds: unknown): KindName[] | undefined {
  if (kinds === undefined || (Array.isArray(kinds) && kinds.length === 0)) return undefined;
  if (!Array.isArray(kinds)) throw invalidRequest('ca: kinds must be a list of "x509" and/or "jwt"');
  for (const k of kinds) {
    if (!KINDS.includes(k as KindName)) throw invalidRequest(`ca: kinds: ${JSON.stringify(k)} is not an authority kind: use "x509" or "jwt"`);
  }
  return [...new Set(kinds as KindName[])];
}

export function caService(ctx: HandlerContext): UntypedServiceImplementation {
  return {
    ListAuthorities: unary<Record<string, never>, ListAuthoritiesMsg>(ctx.logger, 'CaService/ListAuthorities', async () =>
      authoritiesMsg(ctx.ca.authorities()),
    ),
    Rotate: unary<RotateRequestMsg, ListAuthoritiesMsg>(ctx.logger, 'CaService/Rotate', async (req) => {
      const prepare = req.prepare === true;
      const activate = req.activate === true;
      if (!prepare && !activate) throw invalidRequest('ca: rotate: set prepare, activate, or both');
      const kinds = kindsOf(req.kinds);
      await ctx.ca.rotate({ prepare, activate, kinds });
      ctx.logger.info('admin: CA rotation forced', { prepare, activate, kinds: kinds ?? KINDS });
      return authoritiesMsg(ctx.ca.authorities());
    }),
  };
}
