/**
 * proto/workload.proto against the SPIFFE Workload API tables (spiffe-standards.md 5.1-5.3), read
 * through the same loaders the agent uses: @grpc/proto-loader and @grpc/grpc-js. A wrong field
 * number, type, streaming kind or service name would still compile and even run against sigil's own
 * client, so only a check against the spec's tables catches it before a go-spiffe client does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { WORKLOAD_API_SERVICE } from '../../../spiffe/workloadapi/index.js';
import { REPO_ROOT } from '../../support/shared.js';

// Written from spiffe-standards.md 5.2 and 5.3, not from any proto file: [number, name, type].
const MESSAGES: Record<string, [number, string, string][]> = {
  X509SVIDRequest: [],
  X509SVIDResponse: [
    [1, 'svids', 'repeated X509SVID'],
    [2, 'crl', 'repeated bytes'],
    [3, 'federated_bundles', 'map<string, bytes>'],
  ],
  X509SVID: [
    [1, 'spiffe_id', 'string'],
    [2, 'x509_svid', 'bytes'],
    [3, 'x509_svid_key', 'bytes'],
    [4, 'bundle', 'bytes'],
    [5, 'hint', 'string'],
  ],
  X509BundlesRequest: [],
  X509BundlesResponse: [
    [1, 'crl', 'repeated bytes'],
    [2, 'bundles', 'map<string, bytes>'],
  ],
  JWTSVIDRequest: [
    [1, 'audience', 'repeated string'],
    [2, 'spiffe_id', 'string'],
  ],
  JWTSVIDResponse: [[1, 'svids', 'repeated JWTSVID']],
  JWTSVID: [
    [1, 'spiffe_id', 'string'],
    [2, 'svid', 'string'],
    [3, 'hint', 'string'],
  ],
  JWTBundlesRequest: [],
  JWTBundlesResponse: [[1, 'bundles', 'map<string, bytes>']],
  ValidateJWTSVIDRequest: [
    [1, 'audience', 'string'],
    [2, 'svid', 'string'],
  ],
  ValidateJWTSVIDResponse: [
    [1, 'spiffe_id', 'string'],
    [2, 'claims', 'google.protobuf.Struct'],
  ],
  WITSVIDRequest: [[1, 'spiffe_id', 'string']],
  WITSVIDResponse: [[1, 'svids', 'repeated WITSVID']],
  WITSVID: [
    [1, 'spiffe_id', 'string'],
    [2, 'wit_svid', 'string'],
    [3, 'wit_svid_key', 'string'],
    [4, 'hint', 'string'],
  ],
  WITBundlesRequest: [],
  WITBundlesResponse: [[1, 'bundles', 'map<string, string>']],
};

const RPCS: [string, string, string, 'unary' | 'server-streaming'][] = [
  ['FetchX509SVID', 'X509SVIDRequest', 'X509SVIDResponse', 'server-streaming'],
  ['FetchX509Bundles', 'X509BundlesRequest', 'X509BundlesResponse', 'server-streaming'],
  ['FetchJWTSVID', 'JWTSVIDRequest', 'JWTSVIDResponse', 'unary'],
  ['FetchJWTBundles', 'JWTBundlesRequest', 'JWTBundlesResponse', 'server-streaming'],
  ['ValidateJWTSVID', 'ValidateJWTSVIDRequest', 'ValidateJWTSVIDResponse', 'unary'],
  ['FetchWITSVID', 'WITSVIDRequest', 'WITSVIDResponse', 'server-streaming'],
  ['FetchWITBundles', 'WITBundlesRequest', 'WITBundlesResponse', 'server-streaming'],
];

/** The parts of google.protobuf.DescriptorProto (as proto-loader hands it out) read here. */
interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  oneofDecl: unknown[];
  options: { mapEntry?: boolean } | null;
}

function loadWorkloadProto(): PackageDefinition {
  // includeDirs needs only proto/: protobufjs serves google/protobuf/*.proto (struct, any,
  // timestamp, ...) from definitions bundled in the library, and looks there before includeDirs.
  return loadSync('workload.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [join(REPO_ROOT, 'proto')],
  });
}

const def = loadWorkloadProto();

function message(name: string): MessageTypeDefinition<object, object> {
  const d = def[name];
  assert.ok(d && 'format' in d && d.format === 'Protocol Buffer 3 DescriptorProto', `${name} is not a message`);
  return d as MessageTypeDefinition<object, object>;
}

function descriptor(name: string): MessageDescriptor {
  return message(name).type as MessageDescriptor;
}

function service(): ServiceDefinition {
  const d = def[WORKLOAD_API_SERVICE];
  assert.ok(d && !('format' in d), `${WORKLOAD_API_SERVICE} is not a service`);
  return d as ServiceDefinition;
}

/** A field in the tables' notation: `string`, `repeated bytes`, `map<string, bytes>`, `X509SVID`. */
function notation(msg: MessageDescriptor, f: FieldDescriptor): string {
  const scalar = (g: FieldDescriptor): string => (g.type === 'TYPE_MESSAGE' ? g.typeName.replace(/^\./, '') : g.type.replace(/^TYPE_/, '').toLowerCase());
  const entry = msg.nestedType.find((n) => n.name === f.typeName.replace(/^.*\./, '') && n.options?.mapEntry === true);
  if (f.type === 'TYPE_MESSAGE' && f.label === 'LABEL_REPEATED' && entry) {
    const [key, value] = [1, 2].map((n) => entry.field.find((g) => g.number === n));
    assert.ok(key && value && entry.field.length === 2, `${f.name}: malformed map entry`);
    return `map<${scalar(key)}, ${scalar(value)}>`;
  }
  return f.label === 'LABEL_REPEATED' ? `repeated ${scalar(f)}` : scalar(f);
}

/** A length-delimited field whose tag and length each fit in one byte. */
function ld(tag: number, body: number[] | string): number[] {
  const bytes = typeof body === 'string' ? [...Buffer.from(body)] : body;
  assert.ok(bytes.length < 128);
  return [tag, bytes.length, ...bytes];
}

describe('proto/workload.proto', () => {
  describe('service', () => {
    it('sits at the root as SpiffeWorkloadAPI (no package), with exactly the seven RPCs', () => {
      assert.equal(WORKLOAD_API_SERVICE, 'SpiffeWorkloadAPI');
      const names = Object.keys(def).filter((n) => !n.startsWith('google.protobuf.'));
      assert.deepEqual(names.sort(), [WORKLOAD_API_SERVICE, ...Object.keys(MESSAGES)].sort());
      assert.deepEqual(Object.keys(service()).sort(), RPCS.map(([name]) => name).sort());
    });

    for (const [name, request, response, kind] of RPCS) {
      it(`${name}(${request}) returns ${response}, ${kind}, at /SpiffeWorkloadAPI/${name}`, () => {
        const m = service()[name];
        assert.ok(m);
        assert.equal(m.path, `/SpiffeWorkloadAPI/${name}`);
        assert.equal(m.requestStream, false);
        assert.equal(m.responseStream, kind === 'server-streaming');
        assert.equal((m.requestType.type as MessageDescriptor).name, request);
        assert.equal((m.responseType.type as MessageDescriptor).name, response);
      });
    }

    it('gives grpc-js a root-level client whose method paths are the spec paths', () => {
      const ctor = loadPackageDefinition(def)[WORKLOAD_API_SERVICE] as ServiceClientConstructor;
      assert.equal(typeof ctor, 'function');
      assert.equal(ctor.serviceName, 'SpiffeWorkloadAPI');
      const paths = Object.values(ctor.service).map((m) => m.path);
      assert.deepEqual(paths.sort(), [
        '/SpiffeWorkloadAPI/FetchJWTBundles',
        '/SpiffeWorkloadAPI/FetchJWTSVID',
        '/SpiffeWorkloadAPI/FetchWITBundles',
        '/SpiffeWorkloadAPI/FetchWITSVID',
        '/SpiffeWorkloadAPI/FetchX509Bundles',
        '/SpiffeWorkloadAPI/FetchX509SVID',
        '/SpiffeWorkloadAPI/ValidateJWTSVID',
      ]);
    });
  });

  describe('messages', () => {
    for (const [name, fields] of Object.entries(MESSAGES)) {
      const shown = fields.length === 0 ? 'no fields' : fields.map(([n, f, t]) => `${n} ${f} ${t}`).join(', ');
      it(`${name}: ${shown}`, () => {
        const d = descriptor(name);
        const actual = d.field.map((f): [number, string, string] => [f.number, f.name, notation(d, f)]);
        // deepEqual on the whole sorted list: a missing, extra or renumbered field all fail here.
        assert.deepEqual(actual.sort((a, b) => a[0] - b[0]), fields);
        assert.deepEqual(d.oneofDecl, []);
        assert.ok(d.nestedType.every((n) => n.options?.mapEntry === true), 'only map entries are nested');
      });
    }

    it('resolves google.protobuf.Struct to the real well-known type', () => {
      // Type names in these descriptors are relative to the referring message's scope.
      const d = descriptor('google.protobuf.Struct');
      assert.deepEqual(d.field.map((f) => [f.number, f.name, notation(d, f)]), [[1, 'fields', 'map<string, Value>']]);
    });

    it('types WITBundlesResponse.bundles as map<string,string> but JWTBundlesResponse.bundles as map<string,bytes>', () => {
      const wit = message('WITBundlesResponse');
      const jwt = message('JWTBundlesResponse');
      const jwks = '{"keys":[]}';
      const witBack = wit.deserialize(wit.serialize({ bundles: { 'spiffe://a': jwks } })) as { bundles: Record<string, unknown> };
      const jwtBack = jwt.deserialize(jwt.serialize({ bundles: { 'spiffe://a': Buffer.from(jwks) } })) as { bundles: Record<string, unknown> };
      assert.equal(witBack.bundles['spiffe://a'], jwks);
      assert.ok(Buffer.isBuffer(jwtBack.bundles['spiffe://a']));
      assert.equal(String(jwtBack.bundles['spiffe://a']), jwks);
    });
  });

  describe('wire encoding', () => {
    const response = {
      svids: [
        {
          spiffe_id: 'spiffe://a/b',
          x509_svid: Buffer.from([1]),
          x509_svid_key: Buffer.from([2]),
          bundle: Buffer.from([3]),
          hint: 'h',
        },
      ],
      crl: [Buffer.from([4])],
      federated_bundles: { 'spiffe://c': Buffer.from([5]) },
    };
    // Built by hand from the field numbers, so the bytes check the proto, not the loader.
    const svid = [...ld(0x0a, 'spiffe://a/b'), ...ld(0x12, [1]), ...ld(0x1a, [2]), ...ld(0x22, [3]), ...ld(0x2a, 'h')];
    const entry = [...ld(0x0a, 'spiffe://c'), ...ld(0x12, [5])];
    const wire = Buffer.from([...ld(0x0a, svid), ...ld(0x12, [4]), ...ld(0x1a, entry)]);

    it('encodes an X509SVIDResponse with federated_bundles to the bytes the field numbers give', () => {
      const m = service()['FetchX509SVID'];
      assert.ok(m);
      assert.deepEqual(m.responseSerialize(response), wire);
      assert.deepEqual(message('X509SVIDResponse').serialize(response), wire);
    });

    it('decodes those bytes back to the same message, which encodes to the same bytes', () => {
      const m = service()['FetchX509SVID'];
      assert.ok(m);
      const back = m.responseDeserialize(wire);
      assert.deepEqual(back, response);
      assert.deepEqual(m.responseSerialize(back), wire);
    });

    it('carries ValidateJWTSVIDResponse.claims as a google.protobuf.Struct', () => {
      const m = service()['ValidateJWTSVID'];
      assert.ok(m);
      const claims = { fields: { sub: { stringValue: 'spiffe://a/b' }, aud: { listValue: { values: [{ stringValue: 'x' }] } } } };
      const back = m.responseDeserialize(m.responseSerialize({ spiffe_id: 'spiffe://a/b', claims })) as {
        claims: { fields: Record<string, { kind: string; stringValue?: string }> };
      };
      assert.equal(back.claims.fields['sub']?.kind, 'stringValue');
      assert.equal(back.claims.fields['sub']?.stringValue, 'spiffe://a/b');
      assert.equal(back.claims.fields['aud']?.kind, 'listValue');
    });
  });
});
