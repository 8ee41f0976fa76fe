/**
 * `sigil agent api fetch jwt` and `sigil agent api validate jwt`, printed as spire-agent prints
 * them: each token under `token(<id>):`, each JWT bundle under `bundle(<td>):`.
 */
import { Command } from 'commander';
import { messageOf } from '../../../spiffe/errors.js';
import { parseInsecure } from '../../../spiffe/jwtsvid/index.js';
import type { StructMsg, ValueMsg } from '../../workloadapi/messages.js';
import { socketPathOption, timeoutMs, timeoutOption, WorkloadClient, type EndpointOptions } from './client.js';
import { action, CliError, outputOption, write, writeJson, type OutputFormat } from './output.js';

/** Repeatable and comma-separated (`--audience a,b --audience c`), as spire-agent's -audience is. */
const audiences = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((s) => s.trim()).filter((s) => s !== ''),
];

const indent = (text: string): string => text.split('\n').map((l) => `\t${l}`).join('\n');

export function fetchJwtCommand(): Command {
  return new Command('jwt')
    .description("fetch JWT-SVIDs for this process's identities, for the given audience, and the JWT bundles")
    .requiredOption('--audience <aud>', 'audience the tokens are for (repeat, or separate with commas)', audiences)
    .option('--spiffe-id <id>', 'only the token for this SPIFFE ID (default: one per identity)')
    .addOption(socketPathOption())
    .addOption(timeoutOption('5'))
    .addOption(outputOption())
    .action(
      action(async (o: EndpointOptions & { audience: string[]; spiffeId?: string; output: OutputFormat }) => {
        if (o.audience.length === 0) throw new CliError('--audience must name at least one audience');
        const client = new WorkloadClient(o);
        try {
          const timeout = timeoutMs(o);
          const res = await client.fetchJwtSvid(o.audience, o.spiffeId ?? '', timeout);
          if (res.svids.length === 0) throw new CliError('the agent sent a response with no SVIDs');
          for (const s of res.svids) {
            try {
              parseInsecure(s.svid, o.audience);
            } catch (err) {
              throw new CliError(`the agent sent a token for ${s.spiffe_id} that does not parse: ${messageOf(err)}`);
            }
          }
          const bundles = await client.fetchJwtBundles(timeout);
          const sorted = Object.entries(bundles.bundles).sort(([a], [b]) => (a < b ? -1 : 1));
          if (o.output === 'json') {
            writeJson({
              svids: res.svids.map((s) => ({ spiffe_id: s.spiffe_id, svid: s.svid, hint: s.hint })),
              bundles: Object.fromEntries(sorted.map(([td, jwks]) => [td, JSON.parse(jwks.toString('utf8')) as unknown])),
            });
            return;
          }
          const lines: string[] = [];
          for (const s of res.svids) lines.push(`token(${s.spiffe_id}):`, `\t${s.svid}`);
          for (const [td, jwks] of sorted) {
            lines.push(`bundle(${td}):`, indent(JSON.stringify(JSON.parse(jwks.toString('utf8')), null, 4)));
          }
          write(lines.join('\n'));
        } finally {
          client.close();
        }
      }),
    );
}

export function validateJwtCommand(): Command {
  return new Command('jwt')
    .description('have the agent validate a JWT-SVID for an audience, and print its SPIFFE ID and claims')
    .requiredOption('--audience <aud>', 'the audience the token must carry')
    .requiredOption('--svid <token>', 'the JWT-SVID')
    .addOption(socketPathOption())
    .addOption(timeoutOption('5'))
    .addOption(outputOption())
    .action(
      action(async (o: EndpointOptions & { audience: string; svid: string; output: OutputFormat }) => {
        const client = new WorkloadClient(o);
        try {
          const res = await client.validateJwtSvid(o.audience, o.svid, timeoutMs(o));
          const claims = fromStruct(res.claims);
          if (o.output === 'json') writeJson({ spiffe_id: res.spiffe_id, claims });
          else write(`SVID is valid.\nSPIFFE ID : ${res.spiffe_id}\nClaims    : ${JSON.stringify(claims)}`);
        } finally {
          client.close();
        }
      }),
    );
}

/** google.protobuf.Struct (as proto-loader decodes it, `kind` naming the set field) back to JSON. */
export function fromStruct(s: StructMsg | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v);
  return out;
}

const VALUE_KINDS: ReadonlySet<string> = new Set(['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue']);

function fromValue(v: ValueMsg): unknown {
  const r = v as unknown as Record<string, unknown>;
  // proto-loader names the member that is set in `kind`; without it, the one member present.
  const kind = typeof r['kind'] === 'string' ? r['kind'] : Object.keys(r).find((k) => VALUE_KINDS.has(k));
  switch (kind) {
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return r[kind];
    case 'structValue':
      return fromStruct(r[kind] as StructMsg | undefined);
    case 'listValue':
      return ((r[kind] as { values?: ValueMsg[] } | undefined)?.values ?? []).map(fromValue);
    default:
      return null;
  }
}
