/**
 * An agent can never mint outside its subtree: the MintX509SVIDs handler, with the real index and
 * a real CA, asked for every entry of a random graph (and some that do not exist) answers
 * PermissionDenied exactly for those the fixpoint reference does not give the agent — and for
 * entries that name sigil's own reserved IDs even when they are in its subtree.
 */
import assert from 'node:assert/strict';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../../server/api/agent/context.js';
import type { UndecodableMessage } from '../../../server/api/agent/calls.js';
import type { Logger } from '../../../server/api/agent/logger.js';
import type { MintX509SvidsRequest, MintX509SvidsResponse } from '../../../server/api/agent/messages.js';
import { mintX509Svids } from '../../../server/api/agent/mint-x509.js';
import type { PeerAuthenticator } from '../../../server/api/agent/peer-auth.js';
import { AuthorizedEntries } from '../../../server/authz/authorized-entries.js';
import { Status } from '../../../spiffe/errors.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { startTestCa } from '../../fakes/ca-harness.js';
import { newKeyAndCsr } from '../../support/agent-client.js';
import { AGENTS, graphArb, reference, SERVER_ID } from './authz-fixtures.test.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function call(request: MintX509SvidsRequest): ServerUnaryCall<MintX509SvidsRequest | UndecodableMessage, MintX509SvidsResponse> {
  return { request, getPeer: () => 'test' } as unknown as ServerUnaryCall<MintX509SvidsRequest | UndecodableMessage, MintX509SvidsResponse>;
}

describe('authz: minting stays inside the subtree', () => {
  it('refuses exactly the entries outside the agent\'s set (and reserved IDs), on random graphs', async () => {
    const { ca } = await startTestCa();
    const { csr } = await newKeyAndCsr();
    const td = TrustDomain.fromString('example.org');
    await fc.assert(
      fc.asyncProperty(graphArb, fc.nat(AGENTS.length - 1), async ({ entries, agents }, who) => {
        const index = new AuthorizedEntries(SERVER_ID, { onListenerError: (err) => assert.fail(String(err)) });
        index.replaceAll({ entries, agents, eventId: 1 });
        const agent = agents[who]!;
        const auth = { authenticate: async () => ({ id: SpiffeId.fromString(agent.spiffeId), record: agent }) } as unknown as PeerAuthenticator;
        const requested = [...entries.map((e) => e.id), 'missing'];
        const res = await mintX509Svids(
          { trustDomain: td, auth, ca, index, logger: quiet, limits: DEFAULT_LIMITS },
          call({ requests: requested.map((id) => ({ entry_id: id, csr })) }),
        );
        const allowed = reference(entries, agent.spiffeId, agent.selectors);
        assert.equal(res.results.length, requested.length);
        res.results.forEach((r, i) => {
          const id = requested[i]!;
          assert.equal(r.entry_id, id);
          const e = entries.find((x) => x.id === id);
          const reserved = e !== undefined && e.spiffeId.startsWith('spiffe://example.org/sigil/');
          if (allowed.has(id) && !reserved) {
            assert.equal(r.error, null, `entry ${id} is the agent's: ${r.error?.message}`);
            assert.equal(r.svid_chain.length, 1);
          } else {
            assert.equal(r.error?.code, Status.PERMISSION_DENIED, `entry ${id} must be refused`);
            assert.deepEqual(r.svid_chain, []);
          }
        });
        index.close();
      }),
      { numRuns: 200 },
    );
  });
});
