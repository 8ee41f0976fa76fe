/**
 * Requests no CLI would send, straight through a raw gRPC client: undecodable bytes, wrong wire
 * types, odd values. Each gets an error status; none takes the server down.
 */
import assert from 'node:assert/strict';
import { Client, Metadata, credentials, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import { loadProto } from '../../../proto/load.js';
import { createAdminApi } from '../../../server/api/admin/index.js';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { RecordingLogger, TD, runSigil, useAdmin } from './harness.js';

const SERVICES = ['EntryService', 'AgentService', 'TokenService', 'BundleService', 'CaService', 'HealthService'];

describe('integration: admin API against malformed requests', function () {
  this.timeout(60_000);
  const t = useAdmin();
  let client: Client;
  const def = loadProto('sigil/admin/v1/admin.proto');
  const method = (service: string, name: string) => (def[`sigil.admin.v1.${service}`] as ServiceDefinition)[name]!;

  before(() => {
    client = new Client(`unix:${t().socket}`, credentials.createInsecure());
  });
  after(() => client.close());

  /** Sends `bytes` as the request of service/name; resolves to the status. */
  function raw(service: string, name: string, bytes: Buffer): Promise<{ code: number; details: string }> {
    const m = method(service, name);
    return new Promise((resolve) => {
      client.makeUnaryRequest(m.path, (b: Buffer) => b, m.responseDeserialize, bytes, new Metadata(), {}, (err: ServiceError | null) =>
        resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
      );
    });
  }

  /** Sends a well-formed message (encoded by the real serializer); resolves to the status. */
  function call(service: string, name: string, request: object): Promise<{ code: number; details: string }> {
    const m = method(service, name);
    return new Promise((resolve) => {
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new Metadata(), {}, (err: ServiceError | null) =>
        resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
      );
    });
  }

  async function stillServes(): Promise<void> {
    assert.deepEqual(await call('HealthService', 'Check', {}), { code: status.OK, details: '' });
  }

  it('undecodable bytes to every method are refused and the server carries on', async () => {
    for (const service of SERVICES) {
      for (const name of Object.keys(def[`sigil.admin.v1.${service}`] as ServiceDefinition)) {
        const r = await raw(service, name, Buffer.from([0xff, 0xff, 0xff, 0xff]));
        assert.notEqual(r.code, status.OK, `${service}/${name}`);
      }
    }
    await stillServes();
  });

  it('wrong wire types (a varint where a message or string belongs) never reach a handler as garbage', async () => {
    // Field 1 of CreateEntriesRequest (entries) sent as a varint; field 1 of GetEntryRequest (id) likewise.
    const entries = await raw('EntryService', 'CreateEntries', Buffer.from([0x08, 0x01]));
    assert.notEqual(entries.code, status.OK);
    const get = await raw('EntryService', 'GetEntry', Buffer.from([0x08, 0x96, 0x01]));
    assert.notEqual(get.code, status.OK);
    // Field 4 of Entry (selectors) as a length-delimited blob that is not a Selector.
    const entry = Buffer.from([0x22, 0x03, 0xff, 0xff, 0xff]);
    const nested = await raw('EntryService', 'CreateEntries', Buffer.concat([Buffer.from([0x0a, entry.length]), entry]));
    assert.notEqual(nested.code, status.OK);
    assert.equal(await t().ds.entries.count(), 0);
    await stillServes();
  });

  it('well-formed but meaningless values get INVALID_ARGUMENT naming the field', async () => {
    const cases: [string, string, object, string][] = [
      ['EntryService', 'CreateEntries', {}, 'entries: at least one entry is required'],
      ['EntryService', 'CreateEntries', { entries: [{}] }, 'entry: spiffe_id: a SPIFFE ID is required'],
      ['EntryService', 'CreateEntries', { entries: [{ spiffe_id: 'spiffe://example.org/a', parent_id: 'spiffe://example.org/b', selectors: [{}] }] },
        'entry: selectors[0]: type is empty: write selectors as type:value, e.g. unix:uid:1000'],
      ['EntryService', 'CreateEntries', { entries: [{ spiffe_id: 'spiffe://example.org/a', parent_id: 'spiffe://example.org/b', selectors: [{ type: 'a', value: 'b' }], expires_at: '9007199254740993' }] },
        'entry: expires_at: 9007199254740993 is out of range'],
      ['EntryService', 'CreateEntries', { entries: [{ spiffe_id: 'spiffe://example.org/a', parent_id: 'spiffe://example.org/b', selectors: [{ type: 'a', value: 'b' }], x509_svid_ttl: -1 }] },
        "entry: x509_svid_ttl: -1 s is negative: use 0 for the server's default"],
      ['EntryService', 'GetEntry', {}, 'get: id is required'],
      ['EntryService', 'UpdateEntry', { id: 'x' }, 'update: entry is required: it carries the new values'],
      ['EntryService', 'UpdateEntry', { id: 'x', entry: {}, mask: {} }, 'update: the mask selects no field: set the fields to change to true'],
      ['EntryService', 'UpdateEntry', { entry: {} }, 'update: id is required'],
      ['EntryService', 'DeleteEntries', { ids: [] }, 'delete: at least one entry id is required'],
      ['EntryService', 'DeleteEntries', { ids: ['a', ''] }, 'delete: ids[1] is required'],
      ['EntryService', 'ListEntries', { filter: { by_selectors: { match: 99, selectors: [] } } }, 'filter: by_selectors.match: unknown value 99'],
      ['EntryService', 'ListEntries', { filter: { by_selectors: { selectors: [{ type: 'a' }] } } }, 'filter: by_selectors.selectors[0]: a selector needs a type and a value'],
      ['EntryService', 'ListEntries', { page_size: -1 }, 'page_size: -1 is not a whole number of at least 0'],
      ['AgentService', 'GetAgent', {}, "agent: spiffe_id: the agent's SPIFFE ID is required"],
      ['TokenService', 'CreateJoinToken', { ttl: -5 }, 'token: ttl: -5 is not a whole number of seconds above 0'],
      ['CaService', 'Rotate', {}, 'ca: rotate: set prepare, activate, or both'],
      ['CaService', 'Rotate', { prepare: true, kinds: ['x509', 'nope'] }, 'ca: kinds: "nope" is not an authority kind: use "x509" or "jwt"'],
    ];
    for (const [service, name, request, details] of cases) {
      assert.deepEqual(await call(service, name, request), { code: status.INVALID_ARGUMENT, details }, `${service}/${name} ${JSON.stringify(request)}`);
    }
    const token = await call('EntryService', 'ListEntries', { page_token: '%%%garbage' });
    assert.equal(token.code, status.INVALID_ARGUMENT, token.details);
    assert.equal(await t().ds.entries.count(), 0);
    await stillServes();
  });

  it('an update with a whole entry and no mask replaces every field (proto defaults clear them)', async () => {
    const created = await t().ds.entries.create([{
      id: 'full', spiffeId: 'spiffe://example.org/full', parentId: 'spiffe://example.org/p', selectors: [{ type: 'a', value: 'b' }],
      x509SvidTtl: 60, jwtSvidTtl: 60, dnsNames: ['x.org'], federatesWith: ['y.org'], admin: true, downstream: true, expiresAt: 4102444800, hint: 'h',
    }]);
    assert.equal(created.length, 1);
    const r = await call('EntryService', 'UpdateEntry', {
      id: 'full',
      entry: { spiffe_id: 'spiffe://example.org/full2', parent_id: 'spiffe://example.org/p', selectors: [{ type: 'c', value: 'd' }] },
    });
    assert.equal(r.code, status.OK, r.details);
    const e = await t().ds.entries.get('full');
    assert.deepEqual(
      [e?.spiffeId, e?.selectors, e?.x509SvidTtl, e?.dnsNames, e?.federatesWith, e?.admin, e?.downstream, e?.expiresAt, e?.hint, e?.revision],
      ['spiffe://example.org/full2', [{ type: 'c', value: 'd' }], 0, [], [], false, false, null, '', 1],
    );
  });

  it('a batch whose only fault is repeating its own entry is ALREADY_EXISTS', async () => {
    const e = { spiffe_id: 'spiffe://example.org/twice', parent_id: 'spiffe://example.org/p', selectors: [{ type: 'a', value: 'b' }] };
    assert.deepEqual(await call('EntryService', 'CreateEntries', { entries: [e, e] }), {
      code: status.ALREADY_EXISTS,
      details: '1 of 2 entries cannot be created, so none was:\n  entries[1] (spiffe_id "spiffe://example.org/twice"): entry: same spiffe_id, parent_id and selectors as entries[0]',
    });
  });

  it('nothing above was logged as an unexpected failure', () => {
    assert.deepEqual(t().logger.at('error'), []);
  });
});

describe('integration: admin API when a dependency fails unexpectedly', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('a plain Error becomes INTERNAL naming the method, with a log line holding the stack', async () => {
    const boom = new Error('disk on fire');
    const entries = new Proxy(t().ds.entries, {
      get: (target, prop): unknown => (prop === 'list' ? () => Promise.reject(boom) : Reflect.get(target, prop, target)),
    });
    const datastore = new Proxy(t().ds, { get: (target, prop): unknown => (prop === 'entries' ? entries : Reflect.get(target, prop, target)) }) as Datastore;
    const logger = new RecordingLogger();
    const api = createAdminApi({ trustDomain: TD, datastore, ca: t().ca, logger, health: async () => ({ ready: true, checks: {} }) });
    const socket = join(t().dir, 'broken', 'admin.sock');
    await api.start(socket);
    try {
      const r = await runSigil(['server', 'entry', 'list', '--admin-socket', socket]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        'Error: admin: internal error in EntryService/ListEntries: disk on fire (details in the server log)\n' +
          "This is a server-side failure; the server's log has the details.\n",
      );
      const line = logger.lines.find((l) => l.level === 'error');
      assert.equal(line?.message, 'admin: EntryService/ListEntries failed unexpectedly: disk on fire');
      assert.match(String(line?.fields?.['stack']), /disk on fire\n\s+at /);
      assert.equal((await runSigil(['server', 'healthcheck', '--admin-socket', socket])).status, 0);
    } finally {
      await api.stop();
    }
  });
});
