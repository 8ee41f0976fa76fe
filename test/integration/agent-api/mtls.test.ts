/**
 * Who may call: no certificate, a certificate from another CA, a stale SVID, a banned or evicted
 * agent — and Renew with SPIRE's serial promotion. Also the server's own certificate and its
 * rotation at half-life.
 */
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { FakeBundleStore } from '../../fakes/bundle-store.js';
import { FakeCaJournalStore } from '../../fakes/ca-journal-store.js';
import { ServerCa } from '../../../server/ca/index.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { newKeyAndCsr } from '../../support/agent-client.js';
import { attestAgent, certOf, clientFor, SERVER_ID, sqliteUrls, startServer, TD, type TestServer } from './harness.js';

async function refused(p: Promise<unknown>, code: number, details: RegExp, reason?: string): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, `status ${err.code}: ${err.details}`);
    assert.match(err.details, details);
    if (reason !== undefined) assert.deepEqual(err.metadata.get('sigil-reason'), [reason]);
    return true;
  });
}

/** The certificate the server presents to a new connection. */
async function serverCertificate(port: number, roots: string): Promise<{ serial: string; san: string }> {
  const socket: TLSSocket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: roots, ALPNProtocols: ['h2'] }, () => resolve(s));
    s.once('error', reject);
  });
  const cert = socket.getPeerCertificate();
  socket.destroy();
  return { serial: cert.serialNumber, san: cert.subjectaltname ?? '' };
}

describe('agent API: mTLS and Renew', function () {
  const urls = sqliteUrls();
  let server: TestServer;

  before(async () => {
    server = await startServer(urls.next());
  });
  after(async () => {
    await server.stop();
    urls.cleanup();
  });

  it('presents spiffe://TD/sigil/server with DNS localhost, chained to the bundle', async () => {
    const roots = (await server.roots()).map((c) => c.toString()).join('');
    const cert = await serverCertificate(server.port, roots);
    assert.match(cert.san, /DNS:localhost/);
    assert.match(cert.san, new RegExp(`URI:${SERVER_ID}`));
  });

  it('refuses agent RPCs without a client certificate', async () => {
    const anonymous = await clientFor(server);
    try {
      await refused(anonymous.mintX509([]), GrpcStatus.UNAUTHENTICATED, /^agentapi: a client certificate is required/);
      const sync = anonymous.sync();
      await sync.until('refusal', () => sync.error !== undefined);
      assert.equal(sync.error!.code, GrpcStatus.UNAUTHENTICATED);
    } finally {
      anonymous.close();
    }
  });

  it('refuses an SVID for an attested agent ID that another CA issued', async () => {
    const agent = await attestAgent(server);
    agent.close();
    const other = await ServerCa.start({
      trustDomain: TD, keyManager: new MemoryKeyManager(), bundles: new FakeBundleStore(), journals: new FakeCaJournalStore(),
      serverInstanceId: 'impostor',
    });
    const { privateKey } = await newKeyAndCsr();
    const forged = await other.issueAgentSvid({ agentId: SpiffeId.fromString(agent.agentId), publicKey: privateKey });
    const impostor = await clientFor(server, { privateKey, chain: forged.certificatesDer });
    try {
      await refused(impostor.mintX509([]), GrpcStatus.UNAUTHENTICATED, /^agentapi: the client certificate is not a valid X\.509-SVID of trust domain "example\.org"/);
    } finally {
      impostor.close();
    }
    assert.ok(server.logger.at('warn').some((l) => l.message === 'agentapi: refused a client certificate'));
  });

  it('renews: the new SVID is promoted on first use, and the old one stops working', async () => {
    const agent = await attestAgent(server);
    const before = (await server.ds.agents.get(agent.agentId))!;
    const next = await newKeyAndCsr();
    const renewed = await agent.client.renew(next.csr);
    const leaf = certOf(renewed.svid_chain[0]!);
    assert.equal(leaf.subjectAltName, `URI:${agent.agentId}`);
    assert.notEqual(leaf.serialNumber, before.serialNumber);
    const pending = (await server.ds.agents.get(agent.agentId))!;
    assert.equal(pending.serialNumber, before.serialNumber, 'the old SVID stays current until the new one is used');
    assert.equal(pending.newSerialNumber, leaf.serialNumber);

    // The old SVID still works until then.
    assert.deepEqual((await agent.client.mintX509([])).results, []);
    const fresh = await clientFor(server, { privateKey: next.privateKey, chain: renewed.svid_chain });
    try {
      assert.deepEqual((await fresh.mintX509([])).results, []);
      const promoted = (await server.ds.agents.get(agent.agentId))!;
      assert.equal(promoted.serialNumber, leaf.serialNumber);
      assert.equal(promoted.newSerialNumber, null);
      await refused(agent.client.mintX509([]), GrpcStatus.PERMISSION_DENIED, /^agentapi: agent SVID is not the current one$/, 'AGENT_NOT_ACTIVE');
    } finally {
      fresh.close();
      agent.close();
    }
  });

  it('refuses Renew to agents that can re-attest', async () => {
    const agent = await attestAgent(server);
    const record = (await server.ds.agents.get(agent.agentId))!;
    await server.ds.agents.upsert({ ...record, canReattest: true });
    try {
      await refused(agent.client.renew((await newKeyAndCsr()).csr), GrpcStatus.PERMISSION_DENIED, /must re-attest/, 'AGENT_MUST_REATTEST');
    } finally {
      agent.close();
    }
  });

  it('refuses banned and evicted agents on their next call', async () => {
    const banned = await attestAgent(server);
    const evicted = await attestAgent(server);
    await server.ds.agents.ban(banned.agentId);
    await server.ds.agents.delete(evicted.agentId);
    try {
      await refused(banned.client.mintX509([]), GrpcStatus.PERMISSION_DENIED, /^agentapi: agent is banned$/, 'AGENT_BANNED');
      await refused(evicted.client.mintX509([]), GrpcStatus.PERMISSION_DENIED, /^agentapi: agent not attested$/, 'AGENT_NOT_ATTESTED');
      const warned = server.logger.at('warn').filter((l) => l.message.startsWith('agentapi: refused agent'));
      assert.ok(warned.some((l) => l.fields['agentId'] === banned.agentId && l.fields['reason'] === 'AGENT_BANNED'));
    } finally {
      banned.close();
      evicted.close();
    }
  });

  it('rotates its own SVID at half-life without dropping open connections', async function () {
    const short = await startServer(urls.next(), { ca: { x509SvidTtlSeconds: 3, agentSvidTtlSeconds: 600 } });
    const roots = (await short.roots()).map((c) => c.toString()).join('');
    const agent = await attestAgent(short);
    try {
      const first = await serverCertificate(short.port, roots);
      const sync = agent.client.sync();
      await sync.until('full set', () => sync.messages.length === 1);
      await new Promise((r) => setTimeout(r, 2000));
      const second = await serverCertificate(short.port, roots);
      assert.notEqual(second.serial, first.serial, 'a new connection sees a new certificate');
      assert.equal(sync.error, undefined, 'the open stream survived the rotation');
      assert.ok(short.logger.at('info').some((l) => l.message === 'agentapi: rotated the server SVID'));
      sync.cancel();
    } finally {
      agent.close();
      await short.stop();
    }
  });
});
