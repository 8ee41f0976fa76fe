/**
 * ValidateJWTSVID: checks a token against the JWT bundles the caller could fetch itself (its own
 * trust domain's, plus the federated ones its identities federate with), with the same validator
 * every sigil component uses, and returns its subject and claims.
 */
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { JwtBundle } from '../../spiffe/bundle/index.js';
import type { JwtAuthorities, JwtBundleSource } from '../../spiffe/bundle/index.js';
import { messageOf } from '../../spiffe/errors.js';
import { parseAndValidate } from '../../spiffe/jwtsvid/index.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { BundleView } from '../cache/workload-view.js';
import { type HandlerContext, unaryCall } from './context.js';
import { entitledBundles } from './encode.js';
import type { StructMsg, ValidateJwtSvidRequestMsg, ValidateJwtSvidResponseMsg, ValueMsg } from './messages.js';
import { RpcError } from './status.js';

/**
 * Claims a token from another trust domain may pass on. Private claims of a foreign issuer are
 * its business and could be mistaken for this domain's, so SPIRE passes only the registered ones
 * (plus an operator allowlist, which sigil does not have yet).
 */
const FOREIGN_CLAIMS: ReadonlySet<string> = new Set(['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);

function validateRequest(req: ValidateJwtSvidRequestMsg): void {
  if (req.audience === '') throw new RpcError(status.INVALID_ARGUMENT, 'audience must be specified');
  if (req.svid === '') throw new RpcError(status.INVALID_ARGUMENT, 'svid must be specified');
}

export function validateJwtSvid(ctx: HandlerContext): handleUnaryCall<ValidateJwtSvidRequestMsg, ValidateJwtSvidResponseMsg> {
  const parsed = new WeakMap<Buffer, JwtBundle>();
  const bundleOf = (view: BundleView): JwtBundle => {
    let b = parsed.get(view.jwksJson);
    if (b === undefined) {
      b = JwtBundle.parse(TrustDomain.fromString(view.trustDomain), view.jwksJson);
      parsed.set(view.jwksJson, b);
    }
    return b;
  };
  return unaryCall(ctx, 'ValidateJWTSVID', validateRequest, async (req, selectors) => {
    const views = entitledBundles(ctx.view.snapshot(selectors));
    const source: JwtBundleSource = {
      getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
        const view = views.find((v) => TrustDomain.fromString(v.trustDomain).equals(td));
        if (view === undefined) throw new Error(`no JWT bundle for trust domain "${td.name}"`);
        return bundleOf(view);
      },
    };
    let svid;
    try {
      svid = await parseAndValidate(req.svid, source, [req.audience]);
    } catch (err) {
      throw new RpcError(status.INVALID_ARGUMENT, messageOf(err));
    }
    const foreign = svid.id.trustDomain.name !== TrustDomain.fromString(ctx.trustDomain).name;
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(svid.claims)) if (!foreign || FOREIGN_CLAIMS.has(k)) claims[k] = v;
    // A single audience may be a plain string in the token; the response always has a list.
    claims['aud'] = svid.audience;
    return { spiffe_id: svid.id.toString(), claims: toStruct(claims) };
  });
}

export function toStruct(obj: Readonly<Record<string, unknown>>): StructMsg {
  const fields: Record<string, ValueMsg> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) fields[k] = toValue(v);
  }
  return { fields };
}

function toValue(v: unknown): ValueMsg {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v as Record<string, unknown>) };
  // Claims come from JSON.parse, which makes nothing else; a bigint or function would be a bug.
  return { stringValue: String(v) };
}
