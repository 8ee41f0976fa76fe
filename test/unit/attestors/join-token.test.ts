/**
 * join_token, both halves, against a fake host: single use (consumed before the expiry check),
 * expiry, malformed payloads, and messages that never contain the token.
 */
import assert from 'node:assert/strict';
import { BUILTIN_NODE_ATTESTOR_TYPES, isBuiltinNodeAttestorType, JOIN_TOKEN } from '../../../attestors/node/builtins.js';
import { JoinTokenAgentAttestor } from '../../../attestors/node/join-token/agent.js';
import { JoinTokenServerAttestor } from '../../../attestors/node/join-token/server.js';
import { NodeAttestorError, type NodeAttestorHost } from '../../../attestors/node/node-attestor.js';
import { builtinServerNodeAttestors } from '../../../server/api/agent/node-attestors.js';
import { Status } from '../../../spiffe/errors.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';

const NOW = new Date('2030-01-01T00:00:00Z');
const TOKEN = '3f2b7c1e-9d4a-4e8b-a1c2-5f6e7d8c9b0a';

class FakeHost implements NodeAttestorHost {
  readonly trustDomain = TrustDomain.fromString('example.org');
  readonly consumed: string[] = [];
  constructor(readonly tokens: Map<string, Date>) {}
  now(): Date {
    return NOW;
  }
  async consumeJoinToken(token: string): Promise<{ expiresAt: Date } | undefined> {
    this.consumed.push(token);
    const expiresAt = this.tokens.get(token);
    this.tokens.delete(token);
    return expiresAt === undefined ? undefined : { expiresAt };
  }
}

const noChallenge = async (): Promise<Uint8Array> => assert.fail('join_token sends no challenge');

async function refused(p: Promise<unknown>, code: string, status: number, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof NodeAttestorError);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(!err.message.includes(TOKEN), 'the token never appears in a message');
    return true;
  });
}

describe('attestors: join_token', () => {
  const server = new JoinTokenServerAttestor();

  it('names the agent join_token/<token>, with no selectors, not re-attestable', async () => {
    const host = new FakeHost(new Map([[TOKEN, new Date(NOW.getTime() + 60_000)]]));
    const payload = await new JoinTokenAgentAttestor(TOKEN).payload();
    assert.deepEqual(await server.attest(payload, host, noChallenge), { agentPath: `join_token/${TOKEN}`, selectors: [], canReattest: false });
    assert.deepEqual(host.consumed, [TOKEN]);
  });

  it('refuses a token the second time', async () => {
    const host = new FakeHost(new Map([[TOKEN, new Date(NOW.getTime() + 60_000)]]));
    const payload = new TextEncoder().encode(TOKEN);
    await server.attest(payload, host, noChallenge);
    await refused(
      server.attest(payload, host, noChallenge),
      'SIGIL_NODEATTESTOR_DENIED',
      Status.PERMISSION_DENIED,
      'nodeattestor(join_token): the join token is unknown or was already used',
    );
  });

  it('refuses an expired token after consuming it', async () => {
    const host = new FakeHost(new Map([[TOKEN, new Date(NOW.getTime() - 1000)]]));
    await refused(
      server.attest(new TextEncoder().encode(TOKEN), host, noChallenge),
      'SIGIL_NODEATTESTOR_DENIED',
      Status.PERMISSION_DENIED,
      'nodeattestor(join_token): the join token expired at 2029-12-31T23:59:59.000Z and has been deleted; create a new one',
    );
    assert.deepEqual(host.consumed, [TOKEN]);
    assert.equal(host.tokens.size, 0);
  });

  it('refuses a token expiring exactly now', async () => {
    const host = new FakeHost(new Map([[TOKEN, NOW]]));
    await refused(server.attest(new TextEncoder().encode(TOKEN), host, noChallenge), 'SIGIL_NODEATTESTOR_DENIED', Status.PERMISSION_DENIED, /expired/);
  });

  const malformed: [string, Uint8Array, string][] = [
    ['an empty payload', new Uint8Array(), 'nodeattestor(join_token): the join token is empty'],
    ['bytes that are not UTF-8', new Uint8Array([0xff, 0xfe]), 'nodeattestor(join_token): the payload is not UTF-8 text'],
    ['a path', new TextEncoder().encode('a/b'), 'nodeattestor(join_token): the join token has characters other than letters, digits, ".", "_" and "-"'],
    ['a dot segment', new TextEncoder().encode('..'), 'nodeattestor(join_token): the join token cannot be "." or ".."'],
    ['256 characters', new TextEncoder().encode('a'.repeat(256)), 'nodeattestor(join_token): the join token is longer than 255 characters'],
  ];
  for (const [name, payload, message] of malformed) {
    it(`refuses ${name} without asking the datastore`, async () => {
      const host = new FakeHost(new Map());
      await refused(server.attest(payload, host, noChallenge), 'SIGIL_NODEATTESTOR_INVALID', Status.INVALID_ARGUMENT, message);
      assert.deepEqual(host.consumed, []);
    });
  }

  it('agent half: refuses a malformed token up front, and any challenge', async () => {
    assert.throws(() => new JoinTokenAgentAttestor(''), /the join token is empty/);
    const agent = new JoinTokenAgentAttestor(TOKEN);
    assert.equal(agent.type, 'join_token');
    await assert.rejects(agent.respond(new Uint8Array([1])), /the server sent a challenge, but join_token has none to answer/);
  });

  it('is listed among the built-ins, and the server builds its half by name', () => {
    assert.deepEqual(BUILTIN_NODE_ATTESTOR_TYPES, [JOIN_TOKEN, 'tpm']);
    assert.ok(isBuiltinNodeAttestorType('join_token'));
    assert.ok(!isBuiltinNodeAttestorType('k8s_psat'));
    // tpm is built only when configured; join_token always.
    assert.deepEqual(builtinServerNodeAttestors().map((a) => a.type), ['join_token']);
  });
});
