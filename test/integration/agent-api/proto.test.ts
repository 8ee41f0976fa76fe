/**
 * sigil.agent.v1 as the loaders read it: the service's methods and streaming kinds, and the oneofs
 * the handlers rely on (an agent built from another copy of the proto must agree on these).
 */
import assert from 'node:assert/strict';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadProto } from '../../../proto/load.js';

const KINDS: Record<string, [boolean, boolean]> = {
  Attest: [true, true],
  Renew: [false, false],
  SyncEntries: [false, true],
  MintX509SVIDs: [false, false],
  MintJWTSVID: [false, false],
  WatchBundle: [false, true],
};

describe('agent API: proto', () => {
  const service = loadProto('sigil/agent/v1/agent.proto')['sigil.agent.v1.AgentAPI'] as Record<string, MethodDefinition<object, object>>;

  it('has the six methods, with their streaming kinds and paths', () => {
    assert.deepEqual(Object.keys(service).sort(), Object.keys(KINDS).sort());
    for (const [name, [requestStream, responseStream]] of Object.entries(KINDS)) {
      assert.equal(service[name]!.path, `/sigil.agent.v1.AgentAPI/${name}`);
      assert.equal(service[name]!.requestStream, requestStream, `${name} request streaming`);
      assert.equal(service[name]!.responseStream, responseStream, `${name} response streaming`);
    }
  });

  it('round-trips the oneofs and 64-bit ids as the handlers use them', () => {
    const sync = service['SyncEntries']!;
    const wire = sync.responseSerialize({ update: { upserted: [], removed_ids: ['a'], event_id: '18446744073709551615' } });
    assert.deepEqual(sync.responseDeserialize(wire), { kind: 'update', update: { upserted: [], removed_ids: ['a'], event_id: '18446744073709551615' } });
    const attest = service['Attest']!;
    const req = attest.requestDeserialize(attest.requestSerialize({ challenge_response: Buffer.from([1]) }));
    assert.deepEqual(req, { step: 'challenge_response', challenge_response: Buffer.from([1]) });
  });
});
