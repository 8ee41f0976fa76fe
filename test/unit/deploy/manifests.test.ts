/**
 * deploy/ agrees with the code: every manifest parses; kustomizations name files that exist; the
 * ConfigMaps' server.yaml and agent.yaml pass the real config loaders (with the flags the pods
 * add); ports, socket path, trust domain and service address match the code's defaults and each
 * other; Services and controllers select their own pods; the agent DaemonSet has what the k8s
 * attestor needs; the worked example's entries select the Deployment's namespace and service
 * account. Only sigil's own folders are read (deploy/examples/ holds others' examples too).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KUBELET_SECURE_PORT, NODE_NAME_ENV } from '../../../attestors/workload/k8s/config.js';
import { resolveConfig as resolveAgentConfig, parseYamlConfig as parseAgentYaml, type ConfigFlags as AgentFlags } from '../../../agent/config/index.js';
import { resolveConfig as resolveServerConfig, parseYamlConfig as parseServerYaml, type ConfigFlags as ServerFlags } from '../../../server/config/index.js';
import { DEFAULT_BIND } from '../../../server/config/defaults.js';
import { DEFAULT_AGENT_SOCKET_ADDRESS, DEFAULT_AGENT_SOCKET_PATH, SPIFFE_ENDPOINT_SOCKET_ENV } from '../../../spiffe/workloadapi/constants.js';
import { REPO_ROOT } from '../../support/shared.js';

type Obj = Record<string, unknown>;
type Manifest = Obj & { kind: string; metadata: Obj & { name: string; namespace?: string; labels?: Record<string, string> } };

const DEPLOY = join(REPO_ROOT, 'deploy');
const FOLDERS = ['base', 'overlays/postgres', 'examples/k8s-workload'];

function readYaml(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  return docs.map((d) => {
    assert.deepEqual(d.errors.map((e) => e.message), [], `${file} parses`);
    return d.toJS() as Obj;
  });
}

/** The resources a kustomization folder lists, recursively, with its patches beside them. */
function kustomize(folder: string): { resources: Manifest[]; patches: Manifest[]; namespace?: string } {
  const dir = join(DEPLOY, folder);
  const [k] = readYaml(join(dir, 'kustomization.yaml')) as [Obj & { resources: string[]; patches?: { path: string }[]; namespace?: string }];
  assert.equal(k['kind'], 'Kustomization');
  const resources: Manifest[] = [];
  for (const r of k.resources) {
    const p = join(dir, r);
    assert.ok(existsSync(p), `${folder}/kustomization.yaml: ${r} exists`);
    if (existsSync(join(p, 'kustomization.yaml'))) resources.push(...kustomize(join(folder, r)).resources);
    else resources.push(...(readYaml(p) as Manifest[]));
  }
  const patches = (k.patches ?? []).flatMap((pt) => {
    assert.ok(existsSync(join(dir, pt.path)), `${folder}: patch ${pt.path} exists`);
    return readYaml(join(dir, pt.path)) as Manifest[];
  });
  return { resources, patches, namespace: k.namespace };
}

const find = (ms: Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `${kind}/${name} is defined`);
  return m;
};
const at = <T>(o: unknown, ...path: (string | number)[]): T => {
  let v = o;
  for (const p of path) v = (v as Record<string | number, unknown>)?.[p];
  return v as T;
};
const podSpec = (m: Manifest): Obj => at<Obj>(m, 'spec', 'template', 'spec');
const container = (m: Manifest, name: string): Obj => {
  const c = at<Obj[]>(podSpec(m), 'containers').find((x) => x['name'] === name);
  assert.ok(c, `${m.metadata.name} has container ${name}`);
  return c;
};
const mountPath = (c: Obj, volume: string): string => at<Obj[]>(c, 'volumeMounts').find((v) => v['name'] === volume)?.['mountPath'] as string;
const volume = (m: Manifest, name: string): Obj => {
  const v = at<Obj[]>(podSpec(m), 'volumes').find((x) => x['name'] === name);
  assert.ok(v, `${m.metadata.name} has volume ${name}`);
  return v;
};
/** `--flag value` pairs from an args list (or a shell line that builds one). */
function flagValue(args: string, flag: string): string | undefined {
  return new RegExp(`${flag}[ =]"?([^"\\s]+)"?`).exec(args)?.[1];
}

describe('deploy/ manifests', () => {
  const base = kustomize('base');
  const all = base.resources;
  const serverCm = find(all, 'ConfigMap', 'sigil-server');
  const agentCm = find(all, 'ConfigMap', 'sigil-agent');
  const sts = find(all, 'StatefulSet', 'sigil-server');
  const ds = find(all, 'DaemonSet', 'sigil-agent');
  const svc = find(all, 'Service', 'sigil-server');
  const ns = base.namespace!;
  const agentArgs = at<string[]>(container(ds, 'sigil-agent'), 'args').join(' ');

  it('every YAML file in sigil\'s deploy folders parses, and each kustomization lists files that exist', () => {
    for (const f of FOLDERS) kustomize(f);
    assert.equal(find(all, 'Namespace', ns).metadata.name, 'sigil');
  });

  it("the server ConfigMap's server.yaml passes the server's config loader; its port is the Service's and the container's", () => {
    const c = resolveServerConfig({ file: parseServerYaml(at<string>(serverCm, 'data', 'server.yaml'), 'server.yaml') });
    assert.equal(c.bind.port, DEFAULT_BIND.port);
    assert.match(c.datastore, /^sqlite:\/var\/lib\/sigil\/server\//);
    assert.equal(mountPath(container(sts, 'sigil-server'), 'data'), c.dataDir);
    const ports = at<Obj[]>(container(sts, 'sigil-server'), 'ports');
    assert.deepEqual(ports, [{ name: 'agent-api', containerPort: c.bind.port }]);
    assert.deepEqual(at<Obj[]>(svc, 'spec', 'ports').map((p) => [p['port'], p['targetPort']]), [[c.bind.port, 'agent-api']]);
    assert.ok(c.serverDnsNames.includes(`${svc.metadata.name}.${ns}.svc`));
    assert.equal(mountPath(container(sts, 'sigil-server'), 'config'), dirname(flagValue(at<string[]>(container(sts, 'sigil-server'), 'args').join(' '), '--config')!));
  });

  it("the agent ConfigMap's agent.yaml, with the DaemonSet's flags, passes the agent's config loader and runs unix and k8s", () => {
    const flags: AgentFlags = { kubeletUrl: flagValue(agentArgs, '--kubelet-url')!.replace('${MY_NODE_IP}', '10.0.0.7'), joinToken: 'tok' };
    const c = resolveAgentConfig({ file: parseAgentYaml(at<string>(agentCm, 'data', 'agent.yaml'), 'agent.yaml'), flags });
    assert.equal(c.socketPath, DEFAULT_AGENT_SOCKET_PATH);
    assert.deepEqual(Object.keys(c.workloadAttestors).sort(), ['k8s', 'unix']);
    assert.equal(c.workloadAttestors.k8s?.kubeletUrl, `https://10.0.0.7:${KUBELET_SECURE_PORT}`);
    const server = resolveServerConfig({ file: parseServerYaml(at<string>(serverCm, 'data', 'server.yaml'), 'server.yaml') });
    assert.equal(c.trustDomain.name, server.trustDomain.name, 'agent and server share the trust domain');
    assert.deepEqual(c.serverAddress, { host: `${svc.metadata.name}.${ns}.svc`, port: at<number>(svc, 'spec', 'ports', 0, 'port') });
    const agent = container(ds, 'sigil-agent');
    assert.equal(mountPath(agent, 'agent-socket'), dirname(c.socketPath));
    assert.equal(mountPath(agent, 'agent-data'), c.dataDir);
    assert.equal(mountPath(agent, 'bundle'), dirname(c.bootstrap.kind === 'bundle' ? c.bootstrap.path : ''));
    assert.equal(mountPath(agent, 'config'), dirname(flagValue(agentArgs, '--config')!));
    // The probes ask the socket the agent serves.
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      assert.equal(flagValue(at<string[]>(agent, probe, 'exec', 'command').join(' '), '--socket-path'), c.socketPath);
    }
  });

  it('the agent DaemonSet has hostPID, its node name from the downward API, /dev/tpmrm0 and the kubelet RBAC', () => {
    assert.equal(podSpec(ds)['hostPID'], true);
    const env = at<Obj[]>(container(ds, 'sigil-agent'), 'env');
    assert.deepEqual(env.find((e) => e['name'] === NODE_NAME_ENV)?.['valueFrom'], { fieldRef: { fieldPath: 'spec.nodeName' } });
    assert.deepEqual(volume(ds, 'tpm')['hostPath'], { path: '/dev/tpmrm0', type: 'CharDevice' });
    assert.equal(mountPath(container(ds, 'sigil-agent'), 'tpm'), '/dev/tpmrm0');
    assert.equal(at<string>(volume(ds, 'agent-socket'), 'hostPath', 'type'), 'DirectoryOrCreate');
    const sa = podSpec(ds)['serviceAccountName'] as string;
    const binding = find(all, 'ClusterRoleBinding', 'sigil-agent');
    assert.deepEqual(at<Obj[]>(binding, 'subjects'), [{ kind: 'ServiceAccount', name: sa, namespace: ns }]);
    const role = find(all, 'ClusterRole', at<string>(binding, 'roleRef', 'name'));
    const rules = at<Obj[]>(role, 'rules');
    assert.ok(rules.some((r) => (r['resources'] as string[]).includes('nodes/proxy') && (r['verbs'] as string[]).includes('get')));
  });

  it('every Service and controller selects the labels of its own pods', () => {
    for (const m of [sts, ds]) {
      const labels = at<Record<string, string>>(m, 'spec', 'template', 'metadata', 'labels');
      for (const [k, v] of Object.entries(at<Record<string, string>>(m, 'spec', 'selector', 'matchLabels'))) assert.equal(labels[k], v, `${m.metadata.name} selects ${k}`);
    }
    const stsLabels = at<Record<string, string>>(sts, 'spec', 'template', 'metadata', 'labels');
    for (const s of all.filter((m) => m.kind === 'Service')) {
      for (const [k, v] of Object.entries(at<Record<string, string>>(s, 'spec', 'selector'))) assert.equal(stsLabels[k], v, `Service ${s.metadata.name} selects ${k}`);
    }
    const headless = find(all, 'Service', at<string>(sts, 'spec', 'serviceName'));
    assert.equal(at<string>(headless, 'spec', 'clusterIP'), 'None');
    assert.equal(podSpec(sts)['serviceAccountName'], find(all, 'ServiceAccount', 'sigil-server').metadata.name);
    for (const m of all) assert.equal(m.metadata.namespace, undefined, `${m.kind}/${m.metadata.name} takes the kustomization's namespace`);
  });

  it('the postgres overlay runs 3 servers whose config (with --datastore from the Secret) passes the loader', () => {
    const { patches } = kustomize('overlays/postgres');
    const stsPatch = find(patches, 'StatefulSet', 'sigil-server');
    assert.equal(at<number>(stsPatch, 'spec', 'replicas'), 3);
    const c = container(stsPatch, 'sigil-server');
    const args = at<string[]>(c, 'args').join(' ');
    assert.equal(flagValue(args, '--datastore'), '$(SIGIL_DATASTORE)');
    assert.equal(at<Obj[]>(c, 'env').find((e) => e['name'] === 'SIGIL_DATASTORE')?.['valueFrom'] !== undefined, true);
    const cm = find(patches, 'ConfigMap', 'sigil-server');
    const flags: ServerFlags = { datastore: 'postgres://sigil:pw@postgres.db.svc:5432/sigil' };
    const resolved = resolveServerConfig({ file: parseServerYaml(at<string>(cm, 'data', 'server.yaml'), 'server.yaml'), flags });
    assert.equal(resolved.datastore, flags.datastore);
    const baseServer = resolveServerConfig({ file: parseServerYaml(at<string>(serverCm, 'data', 'server.yaml'), 'server.yaml') });
    assert.equal(resolved.trustDomain.name, baseServer.trustDomain.name);
    assert.equal(resolved.bind.port, baseServer.bind.port);
  });

  it("the worked example's entries select the Deployment's namespace and service account, under the agents' node alias", () => {
    const ex = kustomize('examples/k8s-workload');
    const dep = find(ex.resources, 'Deployment', 'demo-app');
    const namespace = ex.namespace!;
    const sa = podSpec(dep)['serviceAccountName'] as string;
    find(ex.resources, 'ServiceAccount', sa);
    find(ex.resources, 'Namespace', namespace);
    const script = readFileSync(join(DEPLOY, 'examples', 'k8s-workload', 'entries.sh'), 'utf8').replace(/\\\n\s*/g, ' ');
    const create = script.split('\n').filter((l) => /server entry create /.test(l));
    assert.equal(create.length, 1);
    const selectors = [...create[0]!.matchAll(/--selector (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(selectors, [`k8s:ns:${namespace}`, `k8s:sa:${sa}`]);
    const td = resolveServerConfig({ file: parseServerYaml(at<string>(serverCm, 'data', 'server.yaml'), 'server.yaml') }).trustDomain.name;
    const parent = flagValue(create[0]!, '--parent-id')!;
    assert.equal(flagValue(script, 'token generate --ttl 1h --spiffe-id'), parent, 'the parent is the alias every node token gives its agent');
    assert.ok(parent.startsWith(`spiffe://${td}/`) && flagValue(create[0]!, '--spiffe-id')!.startsWith(`spiffe://${td}/`));
    // The workload reaches the agent's socket through the same host directory.
    const app = container(dep, 'app');
    assert.equal(at<Obj[]>(app, 'env').find((e) => e['name'] === SPIFFE_ENDPOINT_SOCKET_ENV)?.['value'], DEFAULT_AGENT_SOCKET_ADDRESS);
    assert.equal(mountPath(app, 'sigil-agent-socket'), dirname(DEFAULT_AGENT_SOCKET_PATH));
    assert.equal(at<string>(volume(dep, 'sigil-agent-socket'), 'hostPath', 'path'), at<string>(volume(ds, 'agent-socket'), 'hostPath', 'path'));
  });

  it('the Dockerfile builds in stages and runs as a non-root user by default, with the tpm2-tss and SoftHSM2 libraries', () => {
    const df = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    assert.equal(df.match(/^FROM /gm)?.length, 2);
    assert.match(df, /^USER 10001:10001$/m);
    assert.match(df, /libtss2-esys/);
    assert.match(df, /softhsm2/);
    assert.equal(at<number>(podSpec(sts), 'securityContext', 'runAsUser'), 10001);
    // Every directory the build copies exists.
    for (const m of df.matchAll(/^COPY (?!--from)(\S+) /gm)) for (const p of m[1]!.split(' ')) assert.ok(existsSync(join(REPO_ROOT, p)), `COPY ${p}`);
  });
});
