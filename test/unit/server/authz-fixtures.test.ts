/**
 * The authorization rule written the dumbest way that can be right — a fixpoint over every entry —
 * and random entry graphs for fast-check, shared by the authz property tests. Small ID pools make
 * cycles, shared SPIFFE IDs, chains through other agents and alias matches common. This file
 * holds no tests; its name only keeps it among the authz test files.
 */
import fc from 'fast-check';
import type { AttestedAgent, RegistrationEntry, Selector } from '../../../server/datastore/types.js';

export const SERVER_ID = 'spiffe://example.org/sigil/server';
export const AGENTS = ['a0', 'a1', 'a2'].map((a) => `spiffe://example.org/sigil/agent/join_token/${a}`);
export const WORKLOADS = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'].map((w) => `spiffe://example.org/${w}`);
export const NODE_SELECTORS: Selector[] = ['a', 'b', 'c'].map((v) => ({ type: 'tpm', value: v }));

const sameSelector = (a: Selector, b: Selector): boolean => a.type === b.type && a.value === b.value;

/** Everything `agentId` may have: a fixpoint over all entries, no indexes. */
export function reference(entries: Iterable<RegistrationEntry>, agentId: string, nodeSelectors: readonly Selector[]): Set<string> {
  const all = [...entries];
  const reached = new Set<string>([agentId]);
  for (const e of all) {
    if (e.parentId === SERVER_ID && e.selectors.length > 0 && e.selectors.every((s) => nodeSelectors.some((n) => sameSelector(n, s)))) {
      reached.add(e.spiffeId);
    }
  }
  reached.delete(SERVER_ID);
  const result = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of all) {
      if (!reached.has(e.parentId) || result.has(e.id)) continue;
      result.add(e.id);
      if (e.spiffeId !== SERVER_ID) reached.add(e.spiffeId);
      changed = true;
    }
  }
  return result;
}

export function makeEntry(id: string, spiffeId: string, parentId: string, selectors: Selector[], revision = 0): RegistrationEntry {
  return {
    id, spiffeId, parentId, selectors, revision,
    x509SvidTtl: 0, jwtSvidTtl: 0, dnsNames: [], federatesWith: [], admin: false, downstream: false, expiresAt: null, hint: '', createdAt: 1,
  };
}

export function makeAgent(spiffeId: string, selectors: Selector[], banned = false): AttestedAgent {
  return {
    spiffeId, selectors, banned,
    attestationType: 'join_token', serialNumber: '01', expiresAt: 2_000_000_000, newSerialNumber: null, newExpiresAt: null,
    canReattest: false, agentVersion: '', createdAt: 1, updatedAt: 1,
  };
}

/** Mostly workloads and agents as parents, sometimes the server (aliases); now and then the server ID as a SPIFFE ID. */
const parentArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...WORKLOADS) }, { weight: 3, arbitrary: fc.constantFrom(...AGENTS) }, {
  weight: 2,
  arbitrary: fc.constant(SERVER_ID),
});
const spiffeArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...WORKLOADS) }, { weight: 1, arbitrary: fc.constantFrom(...AGENTS) }, {
  weight: 1,
  arbitrary: fc.constant(SERVER_ID),
});
export const selectorsArb = fc.subarray(NODE_SELECTORS, { minLength: 1 });
export const nodeSelectorsArb = fc.subarray(NODE_SELECTORS);

export interface EntryShape {
  spiffeId: string;
  parentId: string;
  selectors: Selector[];
}

export const entryShapeArb: fc.Arbitrary<EntryShape> = fc.record({ spiffeId: spiffeArb, parentId: parentArb, selectors: selectorsArb });

/** A random graph: entries e0…eN, and each agent's node selectors. */
export const graphArb = fc.record({
  entries: fc.array(entryShapeArb, { maxLength: 40 }).map((shapes) => shapes.map((s, i) => makeEntry(`e${i}`, s.spiffeId, s.parentId, s.selectors))),
  agents: fc.tuple(nodeSelectorsArb, nodeSelectorsArb, nodeSelectorsArb).map((sels) => AGENTS.map((id, i) => makeAgent(id, sels[i]!))),
});

export type Op =
  | { kind: 'create'; shape: EntryShape }
  | { kind: 'update'; pick: number; shape: EntryShape }
  | { kind: 'delete'; pick: number }
  | { kind: 'agent'; agent: number; selectors: Selector[] };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: entryShapeArb.map((shape): Op => ({ kind: 'create', shape })) },
  { weight: 3, arbitrary: fc.record({ pick: fc.nat(), shape: entryShapeArb }).map((o): Op => ({ kind: 'update', ...o })) },
  { weight: 2, arbitrary: fc.nat().map((pick): Op => ({ kind: 'delete', pick })) },
  { weight: 1, arbitrary: fc.record({ agent: fc.nat(AGENTS.length - 1), selectors: nodeSelectorsArb }).map((o): Op => ({ kind: 'agent', ...o })) },
);
