/**
 * Attest over real gRPC and TLS: join-token attestation end to end, refusals (reused, expired,
 * unknown attestor), malformed streams, and what the agent receives (SVID, bundle, record).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { builtinServerNodeAttestors, createAgentApi } from '../../../server/api/agent/index.js';
import { ServerCa } from '../../../server/ca/index.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { opensslVerify } from '../../fakes/ca-harness.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { parseAndVerifyX509Svid } from '../../../spiffe/x509svid/index.js';
import { newKeyAndCsr, TestAgentClient } from '../../support/agent-client.js';
import {
  attestAgent, certOf, createToken, entry, nowSeconds, SERVER_ID, sqliteUrls, startServer, TD, type TestServer,
} from './harness.js';

async function rejects(p: Promise<unknown>, code: number, message: RegExp): Promise<ServiceError> {
  let caught: ServiceError | undefined;
  await assert.rejects(p, (err: ServiceError) => {
    caught = err;
    return true;
  });
  assert.equal(caught!.code, code, `expected status ${code}, got ${caught!.code}: ${caught!.details}`);
  assert.match(caught!.details, message);
  return caught!;
}

describe('agent API: Attest', function () {
  const urls = sqliteUrls();
  let server: TestServer;
  let bootstrap: TestAgentClient;
  let dir: string;

  before(async () => {
    server = await startServer(urls.next());
    bootstrap = new TestAgentClient(server.port, { roots: await server.roots(), serverId: SERVER_ID });
    dir = mkdtempSync(join(tmpdir(), 'sigil-attest-'));
  });
  after(async () => {
    bootstrap.close();
    await server.stop();
    urls.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('attests with a join token: agent ID, an SVID that spiffe/ and openssl verify, the bundle, the record', async () => {
    const token = await createToken(server.ds);
    const { csr } = await newKeyAndCsr();
    const result = await bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr });

    assert.equal(result.agent_id, `spiffe://example.org/sigil/agent/join_token/${token}`);
    assert.equal(result.reattestable, false);
    const bundle = SpiffeBundle.parse(TD, result.bundle);
    const verified = parseAndVerifyX509Svid(result.svid_chain, bundle);
    assert.equal(verified.id.toString(), result.agent_id);
    const leaf = certOf(result.svid_chain[0]!);
    const ttl = (new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()) / 1000;
    assert.ok(Math.abs(ttl - 3600 - 10) <= 10, `agent SVID TTL ${ttl} s is about 1 h`);
    assert.equal(Number(result.expires_at), Math.floor(new Date(leaf.validTo).getTime() / 1000));
    const openssl = opensslVerify(dir, { roots: bundle.x509Authorities(), leaf, intermediates: result.svid_chain.slice(1).map(certOf) });
    assert.equal(openssl.status, 0, openssl.output);

    const record = await server.ds.agents.get(result.agent_id);
    assert.ok(record);
    assert.equal(record.attestationType, 'join_token');
    assert.equal(record.serialNumber, leaf.serialNumber);
    assert.equal(record.banned, false);
    assert.deepEqual(record.selectors, []);
    assert.equal(await server.ds.joinTokens.consume(token), undefined, 'the token is gone');
    const logged = server.logger.at('info').find((l) => l.message === 'agentapi: agent attested');
    assert.equal(logged?.fields['agentId'], result.agent_id);
  });

  it('refuses a token used already, without naming it', async () => {
    const token = await createToken(server.ds);
    const { csr } = await newKeyAndCsr();
    await bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr });
    const err = await rejects(
      bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr }),
      GrpcStatus.PERMISSION_DENIED,
      /^nodeattestor\(join_token\): the join token is unknown or was already used$/,
    );
    assert.ok(!err.details.includes(token));
    assert.ok(!server.logger.lines.some((l) => l.message.includes(token) && l.level !== 'info'), 'refusals never log the token');
  });

  it('refuses an expired token, and consumes it', async () => {
    const token = await createToken(server.ds, -5);
    const { csr } = await newKeyAndCsr();
    await rejects(
      bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr }),
      GrpcStatus.PERMISSION_DENIED,
      /^nodeattestor\(join_token\): the join token expired at .* and has been deleted; create a new one$/,
    );
    assert.equal(await server.ds.joinTokens.consume(token), undefined, 'the expired token was deleted by the attempt');
  });

  it('refuses an attestor type the server does not have', async () => {
    const { csr } = await newKeyAndCsr();
    await rejects(
      bootstrap.attest({ type: 'tpm', payload: Buffer.from('x'), csr }),
      GrpcStatus.FAILED_PRECONDITION,
      /^agentapi: node attestor "tpm" is not configured on this server \(configured: join_token\)$/,
    );
  });

  it('refuses a payload that cannot be a token, and a bad CSR', async () => {
    const { csr } = await newKeyAndCsr();
    await rejects(
      bootstrap.attest({ type: 'join_token', payload: Buffer.from('../etc'), csr }),
      GrpcStatus.INVALID_ARGUMENT,
      /^nodeattestor\(join_token\): the join token has characters other than/,
    );
    const token = await createToken(server.ds);
    const tampered = Buffer.from(csr);
    tampered[tampered.length - 5]! ^= 0xff;
    await rejects(
      bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr: tampered }),
      GrpcStatus.INVALID_ARGUMENT,
      /^agentapi: the CSR /,
    );
    assert.ok(await server.ds.joinTokens.consume(token), 'a bad CSR is refused before the token is spent');
  });

  it('answers garbage with InvalidArgument and keeps serving', async () => {
    const call = bootstrap.rawAttestStream();
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    call.on('data', () => assert.fail('no response expected'));
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const err = await ended;
    assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(err.details, /^agentapi: the request is not a valid AttestRequest message/);

    const wrongFirst = bootstrap.attestStream();
    const ended2 = new Promise<ServiceError>((resolve) => wrongFirst.on('error', resolve));
    wrongFirst.write({ challenge_response: Buffer.from('hello') });
    assert.equal((await ended2).code, GrpcStatus.INVALID_ARGUMENT);

    const empty = bootstrap.attestStream();
    const ended3 = new Promise<ServiceError>((resolve) => empty.on('error', resolve));
    empty.end();
    assert.match((await ended3).details, /the stream ended before the attestation parameters were sent/);

    const agent = await attestAgent(server);
    assert.match(agent.agentId, /^spiffe:\/\/example\.org\/sigil\/agent\/join_token\//);
    agent.close();
  });

  it('a token created with an alias ID makes that ID an entry under the agent', async () => {
    const agent = await attestAgent(server, 'spiffe://example.org/node/web-1');
    const [alias] = (await server.ds.entries.list({ spiffeId: 'spiffe://example.org/node/web-1' })).items;
    assert.equal(alias?.parentId, agent.agentId);
    const [child] = await server.ds.entries.create([entry('/web', 'spiffe://example.org/node/web-1')]);
    const sync = agent.client.sync();
    await sync.until('full set', () => sync.messages.length > 0);
    const full = sync.messages[0]!;
    assert.ok('full' in full);
    assert.deepEqual(full.full.entries.map((e) => e.id).sort(), [alias!.id, child!.id].sort());
    sync.cancel();
    agent.close();
  });

  it('refuses to attest an agent that is banned', async () => {
    const agent = await attestAgent(server);
    agent.close();
    await server.ds.agents.ban(agent.agentId);
    const token = agent.agentId.split('/').pop()!;
    await server.ds.joinTokens.create({ token, expiresAt: nowSeconds() + 60, aliasSpiffeId: null });
    const { csr } = await newKeyAndCsr();
    await rejects(bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr }), GrpcStatus.PERMISSION_DENIED, /^agentapi: agent is banned$/);
  });

  it('runs with the server\'s pino logger', async () => {
    const ds = await openDatastore(urls.next());
    const ca = await ServerCa.start({ trustDomain: TD, keyManager: new MemoryKeyManager(), bundles: ds.bundles, journals: ds.caJournals, serverInstanceId: 'p' });
    const api = createAgentApi({ trustDomain: TD, datastore: ds, ca, attestors: builtinServerNodeAttestors(), logger: pino({ level: 'silent' }) });
    try {
      const { port } = await api.start({ host: '127.0.0.1', port: 0 });
      const client = new TestAgentClient(port, { roots: [...(await ca.x509Authorities())], serverId: SERVER_ID });
      const token = await createToken(ds);
      const result = await client.attest({ type: 'join_token', payload: Buffer.from(token), csr: (await newKeyAndCsr()).csr });
      assert.match(result.agent_id, /join_token/);
      client.close();
    } finally {
      await api.stop();
      await ds.close();
    }
  });
});
