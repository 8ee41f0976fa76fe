/**
 * The entry-field flags `entry create` and `entry update` share (spire-server's, in kebab-case),
 * and the Entry message plus field mask they describe.
 */
import { Command } from 'commander';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import type { EntryMaskMsg, EntryMsg } from '../../api/admin/messages.js';
import { collect } from '../output.js';
import { parseBool, parseSeconds, parseSelector, parseTime } from './parse.js';

export interface EntryFlags {
  spiffeId?: string;
  parentId?: string;
  node?: boolean;
  selector?: string[];
  x509Ttl?: string;
  jwtTtl?: string;
  dns?: string[];
  clearDns?: boolean;
  federatesWith?: string[];
  clearFederatesWith?: boolean;
  admin?: string | boolean;
  downstream?: string | boolean;
  expiresAt?: string;
  hint?: string;
}

export function addEntryFieldOptions(cmd: Command): Command {
  return cmd
    .option('--spiffe-id <id>', 'the SPIFFE ID workloads matching the entry receive')
    .option('--parent-id <id>', 'the agent (or node-alias / parent entry) SPIFFE ID the entry is granted to')
    .option('--selector <type:value>', 'a selector the workload must have, e.g. unix:uid:1000 (repeatable)', collect)
    .option('--x509-ttl <seconds>', 'X509-SVID TTL in seconds or with a unit (90s, 30m, 1h); 0 = server default')
    .option('--jwt-ttl <seconds>', 'JWT-SVID TTL in seconds or with a unit; 0 = server default')
    .option('--dns <name>', 'a DNS name for the X509-SVID; the first also becomes its CN (repeatable)', collect)
    .option('--federates-with <trust-domain>', 'a trust domain whose bundle the workload also gets (repeatable)', collect)
    .option('--admin [true|false]', 'the identity may call the server as an administrator')
    .option('--downstream [true|false]', 'the identity is a downstream server (may get a CA)')
    .option('--expires-at <time>', 'when the entry is deleted: unix seconds or RFC 3339; 0 or never = no expiry')
    .option('--hint <text>', 'hint the Workload API passes to workloads to tell identities apart');
}

/** The server's ID in the trust domain of `spiffeId`, as SPIRE's `-node` derives it. */
function serverIdFor(spiffeId: string | undefined): string {
  const id = spiffeId === undefined ? undefined : SpiffeId.tryParse(spiffeId);
  // Without a usable --spiffe-id the server rejects spiffe_id before it looks at parent_id.
  return id ? `${id.trustDomain.idString()}/sigil/server` : '';
}

/** The Entry the flags describe, and a mask of the fields they set (for update). */
export function entryFromFlags(f: EntryFlags): { entry: Partial<EntryMsg>; mask: EntryMaskMsg } {
  const entry: Partial<EntryMsg> = {};
  const mask: EntryMaskMsg = {};
  const set = <K extends keyof EntryMaskMsg & keyof EntryMsg>(field: K, value: EntryMsg[K] | undefined): void => {
    if (value === undefined) return;
    entry[field] = value;
    mask[field] = true;
  };
  set('spiffe_id', f.spiffeId);
  set('parent_id', f.node ? serverIdFor(f.spiffeId) : f.parentId);
  set('selectors', f.selector?.map((s) => parseSelector(s)));
  set('x509_svid_ttl', f.x509Ttl === undefined ? undefined : parseSeconds(f.x509Ttl, '--x509-ttl'));
  set('jwt_svid_ttl', f.jwtTtl === undefined ? undefined : parseSeconds(f.jwtTtl, '--jwt-ttl'));
  set('dns_names', f.clearDns ? [] : f.dns);
  set('federates_with', f.clearFederatesWith ? [] : f.federatesWith);
  set('admin', parseBool(f.admin, '--admin'));
  set('downstream', parseBool(f.downstream, '--downstream'));
  set('expires_at', f.expiresAt === undefined ? undefined : parseTime(f.expiresAt, '--expires-at'));
  set('hint', f.hint);
  return { entry, mask };
}
