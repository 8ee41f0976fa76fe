/**
 * SyncEntries: the agent's authorized entries, pushed. The first message brings the agent up to
 * date — the full set (paged), or only what changed since the event id it resumes from — and an
 * update follows each change batch that concerns it (authz/authorized-entries.ts). Every message
 * carries the event id it is current to; the agent resumes from the last one it applied.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { EntryUpdate, SyncStart } from '../../authz/authorized-entries.js';
import { decoded, failStream, reportFailure, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import { entryMessage } from './convert.js';
import { AgentApiError, AgentApiErrorCode, invalid } from './errors.js';
import type { SyncEntriesRequest, SyncEntriesResponse } from './messages.js';
import { PushedStream } from './pushed-stream.js';

type Deps = Pick<AgentApiContext, 'auth' | 'index' | 'streams' | 'logger' | 'limits'>;
type SyncCall = ServerWritableStream<SyncEntriesRequest | UndecodableMessage, SyncEntriesResponse>;

export function syncEntriesHandler(d: Deps): (call: SyncCall) => void {
  return (call) => {
    open(d, call).catch((err: unknown) => {
      reportFailure(d.logger, 'SyncEntries', call.getPeer(), err);
      failStream(call, err);
    });
  };
}

async function open(d: Deps, call: SyncCall): Promise<void> {
  const agent = await d.auth.authenticate(call, 'SyncEntries');
  const resumeAfter = eventIdOf(decoded(call.request, 'SyncEntriesRequest').resume_after_event_id);
  const agentId = agent.id.toString();
  if (call.cancelled) return;
  if (!d.index.isActive(agentId)) {
    // Evicted and attested again elsewhere a moment ago: this server's feed has not seen it yet.
    throw new AgentApiError(AgentApiErrorCode.unavailable, 'this server has not caught up with the agent\'s attestation yet: retry');
  }
  const stream = new PushedStream(call, agentId, d.streams, d.limits.maxQueuedMessages);
  const { start, unsubscribe } = d.index.subscribe(agentId, resumeAfter, (u) => stream.send(updateMessage(u)));
  stream.onClose(unsubscribe);
  for (const message of startMessages(start, d.limits.fullSetPageSize)) stream.send(message);
  d.logger.debug(
    { agentId, resumeAfter, start: start.kind, eventId: start.eventId, entries: start.kind === 'full' ? start.entries.length : start.upserted.length },
    'agentapi: entry sync stream opened',
  );
}

function eventIdOf(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`resume_after_event_id ${text} is not an event id`);
  return n;
}

function updateMessage(u: EntryUpdate): SyncEntriesResponse {
  return { update: { upserted: u.upserted.map(entryMessage), removed_ids: u.removedIds, event_id: u.eventId } };
}

function startMessages(start: SyncStart, pageSize: number): SyncEntriesResponse[] {
  if (start.kind === 'update') return [updateMessage(start)];
  const pages: SyncEntriesResponse[] = [];
  for (let i = 0; i === 0 || i < start.entries.length; i += pageSize) {
    const entries = start.entries.slice(i, i + pageSize).map(entryMessage);
    pages.push({ full: { entries, event_id: start.eventId, more: i + pageSize < start.entries.length } });
  }
  return pages;
}
