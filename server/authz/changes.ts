/** What flows into the authorization index (changes, state) and out of it (updates, revocations). */
import type { AttestedAgent, RegistrationEntry } from '../datastore/types.js';

export interface EntryUpdate {
  upserted: RegistrationEntry[];
  removedIds: string[];
  /** The event id the agent's set is current to. */
  eventId: number;
}

export type SyncStart = ({ kind: 'full'; entries: RegistrationEntry[] } | ({ kind: 'update' } & Omit<EntryUpdate, 'eventId'>)) & {
  eventId: number;
};

/** A record that changed: `after` is what the datastore holds now, undefined if it is gone. */
export interface Change<T> {
  key: string;
  after: T | undefined;
}

export interface ChangeBatch {
  entries: Change<RegistrationEntry>[];
  agents: Change<AttestedAgent>[];
  /** Every event at or below it has been applied (the tail's safe resume point). */
  eventId: number;
  /** The highest event id in the batch. */
  maxEventId: number;
}

export interface Revoked {
  agentId: string;
  reason: 'banned' | 'evicted';
}

export interface AuthzState {
  entries: RegistrationEntry[];
  agents: AttestedAgent[];
  eventId: number;
}
