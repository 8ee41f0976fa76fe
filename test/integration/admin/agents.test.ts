/** `sigil server agent list|show|ban|evict` on agents written through the datastore, as attestation writes them. */
import assert from 'node:assert/strict';
import type { AttestedAgent } from '../../../server/datastore/types.js';
import { json, ok, useAdmin } from './harness.js';

const JT = 'spiffe://example.org/sigil/agent/join_token/0b1c';
const TPM = 'spiffe://example.org/sigil/agent/tpm/3f9a';
const TPM2 = 'spiffe://example.org/sigil/agent/tpm/77aa';

const agent = (spiffeId: string, attestationType: string, extra: Partial<AttestedAgent> = {}): Omit<AttestedAgent, 'createdAt' | 'updatedAt'> => ({
  spiffeId,
  attestationType,
  serialNumber: 'abcdef01',
  expiresAt: 4102444800,
  newSerialNumber: null,
  newExpiresAt: null,
  banned: false,
  canReattest: attestationType === 'tpm',
  selectors: [{ type: attestationType, value: 'node:1' }],
  agentVersion: '0.1.0',
  ...extra,
});

interface AgentJson {
  id: string;
  attestation_type: string;
  banned: boolean;
  can_reattest: boolean;
  selectors: { type: string; value: string }[];
}

describe('integration: admin agents through the CLI', function () {
  this.timeout(60_000);
  const t = useAdmin();

  before(async () => {
    await t().ds.agents.upsert(agent(JT, 'join_token'));
    await t().ds.agents.upsert(agent(TPM, 'tpm'));
    await t().ds.agents.upsert(agent(TPM2, 'tpm', { banned: true }));
  });

  it('list prints every agent as spire-server does', async () => {
    const r = ok(await t().sigil('agent', 'list'));
    assert.match(r.stdout, /^Found 3 attested agents:\n\n/);
    assert.ok(r.stdout.includes(
      `SPIFFE ID        : ${TPM}\nAttestation type : tpm\nExpiration time  : 2100-01-01T00:00:00Z\nSerial number    : abcdef01\n` +
        'Can re-attest    : true\nBanned           : false\nAgent version    : 0.1.0\nSelectors        : tpm:node:1\n',
    ), r.stdout);
  });

  it('list filters by attestation type and ban state', async () => {
    const ids = async (...args: string[]): Promise<string[]> =>
      json<{ agents: AgentJson[] }>(ok(await t().sigil('agent', 'list', '--output', 'json', ...args))).agents.map((a) => a.id);
    assert.deepEqual(await ids('--attestation-type', 'tpm'), [TPM, TPM2]);
    assert.deepEqual(await ids('--banned', 'true'), [TPM2]);
    assert.deepEqual(await ids('--banned', 'false', '--attestation-type', 'tpm'), [TPM]);
    assert.equal(ok(await t().sigil('agent', 'list', '--attestation-type', 'k8s')).stdout, 'Found 0 attested agents\n');
  });

  it('show prints one agent; --output json uses SPIRE field names', async () => {
    const out = json<AgentJson>(ok(await t().sigil('agent', 'show', '--spiffe-id', JT, '--output', 'json')));
    assert.deepEqual(Object.keys(out), ['id', 'attestation_type', 'x509svid_serial_number', 'x509svid_expires_at', 'selectors', 'banned', 'can_reattest', 'agent_version']);
    assert.equal(out.attestation_type, 'join_token');
    assert.match(ok(await t().sigil('agent', 'show', '--spiffe-id', JT)).stdout, /^Found an attested agent given its SPIFFE ID\n\nSPIFFE ID {8}: /);
  });

  it('ban marks the agent banned in the datastore and records a change event for the agent API', async () => {
    const before = await t().ds.events.latestId();
    assert.equal(ok(await t().sigil('agent', 'ban', '--spiffe-id', JT)).stdout, 'Agent banned successfully\n');
    assert.equal((await t().ds.agents.get(JT))?.banned, true);
    const events = await t().ds.events.since(before);
    assert.deepEqual(events.map((e) => [e.kind, e.key, e.op]), [['agent', JT, 'upsert']]);
  });

  it('evict deletes the agent (it may attest again); a second evict is NOT_FOUND', async () => {
    const before = await t().ds.events.latestId();
    assert.equal(ok(await t().sigil('agent', 'evict', '--spiffe-id', JT)).stdout, 'Agent evicted successfully\n');
    assert.equal(await t().ds.agents.get(JT), undefined);
    assert.deepEqual((await t().ds.events.since(before)).map((e) => [e.kind, e.key, e.op]), [['agent', JT, 'delete']]);
    const again = await t().sigil('agent', 'evict', '--spiffe-id', JT);
    assert.equal(again.status, 1);
    assert.match(again.stderr, new RegExp(`^Error: datastore: agent "${JT}" not found\\n`));
  });

  it('show, ban and evict refuse IDs that cannot be agents of this trust domain', async () => {
    const bad = await t().sigil('agent', 'show', '--spiffe-id', 'not-an-id');
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, 'Error: agent: spiffe_id: "not-an-id" is not a valid SPIFFE ID: scheme is missing or invalid\n');
    const other = await t().sigil('agent', 'ban', '--spiffe-id', 'spiffe://other.org/sigil/agent/x');
    assert.equal(other.stderr, 'Error: agent: spiffe_id: trust domain "other.org" is not this server\'s trust domain "example.org"\n');
    const unknown = await t().sigil('agent', 'show', '--spiffe-id', 'spiffe://example.org/sigil/agent/none');
    assert.match(unknown.stderr, /^Error: datastore: agent "spiffe:\/\/example.org\/sigil\/agent\/none" not found\n/);
  });

  it('--banned takes only true or false', async () => {
    const r = await t().sigil('agent', 'list', '--banned', 'maybe');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'Error: --banned "maybe" is not true or false\n');
  });
});
