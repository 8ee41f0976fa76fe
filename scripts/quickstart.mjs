#!/usr/bin/env node
// `npm run quickstart`: the product's main job on embedded defaults. Bootstraps if needed, starts a
// server (SQLite, disk key) and an agent (join token) under .sigil/quickstart/, registers an entry
// for the current user (unix:uid), fetches its X.509-SVID over the Workload API, verifies the chain,
// and leaves both running. `npm run quickstart -- --stop` stops them. With `--tpm` the agent attests
// with a TPM instead of a join token: an swtpm emulator provisioned under .sigil/quickstart/swtpm/
// (EK certificates from a local manufacturer CA the server is told to trust).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SIGIL = join(ROOT, 'bin', 'sigil');
// SIGIL_QUICKSTART_DIR moves everything (tests use a temp dir so they never touch a user's run).
const BASE = process.env.SIGIL_QUICKSTART_DIR ?? join(ROOT, '.sigil', 'quickstart');
const TRUST_DOMAIN = 'quickstart.sigil.test';
const P = {
  serverData: join(BASE, 'server'),
  agentData: join(BASE, 'agent'),
  adminSocket: join(BASE, 'server', 'admin.sock'),
  agentSocket: join(BASE, 'agent', 'public', 'api.sock'),
  bundle: join(BASE, 'bundle.pem'),
  pids: join(BASE, 'pids.json'),
  serverLog: join(BASE, 'server.log'),
  agentLog: join(BASE, 'agent.log'),
  svidDir: join(BASE, 'svid'),
  swtpm: join(BASE, 'swtpm'),
};
const TPM = process.argv.includes('--tpm');
const rel = (p) => relative(process.cwd(), p) || '.';
const step = (msg) => process.stdout.write(`quickstart: ${msg}\n`);

function fail(msg, logFile) {
  process.stderr.write(`quickstart: ${msg}\n`);
  if (logFile && existsSync(logFile)) {
    process.stderr.write(`--- last lines of ${rel(logFile)} ---\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}\n`);
  }
  process.exit(1);
}

/** Runs the sigil CLI to completion; returns stdout, or fails with its stderr. */
function sigil(args, what) {
  const r = spawnSync(SIGIL, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${what} failed (sigil ${args.join(' ')}):\n${r.stderr || r.stdout}`);
  return r.stdout;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPrevious() {
  if (!existsSync(P.pids)) return false;
  const pids = JSON.parse(readFileSync(P.pids, 'utf8'));
  let stopped = false;
  // Last started, first stopped: the agent before the server, the server before swtpm.
  for (const [name, pid] of Object.entries(pids).reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    step(`stopped the ${name} (pid ${pid})`);
    stopped = true;
  }
  rmSync(P.pids, { force: true });
  return stopped;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function listen(port) {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** A free port P with P+1 free too (the swtpm TCTI dials the control port at P+1). */
async function freePortPair() {
  for (;;) {
    const a = await listen(0);
    const port = a.address().port;
    const b = port < 65535 ? await listen(port + 1) : undefined;
    await new Promise((r) => a.close(r));
    if (b) {
      await new Promise((r) => b.close(r));
      return port;
    }
  }
}

/** Provisions the emulator once (its EKs stay the same across runs, and so does the agent ID) and starts it. */
function startSwtpm(port) {
  if (!existsSync(join(P.swtpm, 'state', 'tpm2-00.permall'))) {
    step(`provisioning an swtpm TPM with EK certificates from a local manufacturer CA in ${rel(P.swtpm)} ...`);
    const r = spawnSync(join(ROOT, 'swtpm', 'provision.sh'), [P.swtpm], { encoding: 'utf8' });
    if (r.status !== 0) fail(`provisioning swtpm failed:\n${r.stderr}`);
  }
  const r = spawnSync(join(ROOT, 'swtpm', 'start.sh'), [P.swtpm, String(port)], { encoding: 'utf8' });
  if (r.status !== 0) fail(`starting swtpm failed:\n${r.stderr}`);
  step(r.stdout.trim());
  return Number(readFileSync(join(P.swtpm, 'swtpm.pid'), 'utf8').trim());
}

/** Starts a detached sigil process logging to a file; resolves with its pid and ready line. */
async function startDetached(name, args, logFile, readyPrefix) {
  const fd = openSync(logFile, 'w');
  const child = spawn(SIGIL, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  for (let waited = 0; waited < 60_000; waited += 100) {
    await sleep(100);
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.startsWith(readyPrefix));
    if (line) return { pid: child.pid, line };
    if (!alive(child.pid)) fail(`the ${name} exited before it was ready`, logFile);
  }
  fail(`the ${name} did not become ready within 60 s`, logFile);
}

async function main() {
  if (process.argv.includes('--stop')) {
    if (!(await stopPrevious())) step('nothing was running');
    return;
  }
  const boot = spawnSync('bash', [join(ROOT, 'scripts', 'bootstrap')], { stdio: 'inherit' });
  if (boot.status !== 0) fail('bootstrap failed (see above)');
  mkdirSync(BASE, { recursive: true, mode: 0o700 });
  await stopPrevious();

  const pids = {};
  let tpmPort;
  if (TPM) {
    tpmPort = await freePortPair();
    pids.swtpm = startSwtpm(tpmPort);
    writeFileSync(P.pids, JSON.stringify(pids));
  }

  step(`starting the server (trust domain ${TRUST_DOMAIN}, SQLite and a disk key in ${rel(P.serverData)}) ...`);
  const server = await startDetached(
    'server',
    [
      'server', 'run', '--trust-domain', TRUST_DOMAIN, '--bind', '127.0.0.1:0', '--data-dir', P.serverData, '--admin-socket', P.adminSocket,
      ...(TPM ? ['--tpm-ek-ca', join(P.swtpm, 'ek-ca.pem')] : []),
    ],
    P.serverLog,
    'sigil server ready:',
  );
  const address = /agent API (\S+),/.exec(server.line)?.[1];
  if (!address) fail(`cannot read the agent API address from: ${server.line}`, P.serverLog);
  pids.server = server.pid;
  writeFileSync(P.pids, JSON.stringify(pids));

  const admin = ['--admin-socket', P.adminSocket];
  writeFileSync(P.bundle, sigil(['server', 'bundle', 'show', '--format', 'pem', ...admin], 'reading the trust bundle'));
  let attestWith;
  if (TPM) {
    attestWith = ['--node-attestor', 'tpm', '--tpm-tcti', `swtpm:host=127.0.0.1,port=${tpmPort}`];
    step(`starting the agent (TPM attestation with swtpm, Workload API on ${rel(P.agentSocket)}) ...`);
  } else {
    const token = JSON.parse(sigil(['server', 'token', 'generate', '--ttl', '600', '--output', 'json', ...admin], 'generating a join token'));
    attestWith = ['--join-token', token.value ?? token.token];
    step(`starting the agent (join token, Workload API on ${rel(P.agentSocket)}) ...`);
  }
  const agent = await startDetached(
    'agent',
    [
      'agent', 'run', '--trust-domain', TRUST_DOMAIN, '--server-address', address, ...attestWith,
      '--trust-bundle', P.bundle, '--data-dir', P.agentData, '--socket-path', P.agentSocket,
    ],
    P.agentLog,
    'sigil agent ready:',
  );
  pids.agent = agent.pid;
  writeFileSync(P.pids, JSON.stringify(pids));
  const attested = /sigil agent ready: (\S+),/.exec(agent.line)?.[1];
  if (!attested) fail(`cannot read the agent ID from: ${agent.line}`, P.agentLog);
  if (TPM) {
    const timing = readFileSync(P.agentLog, 'utf8').split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .find((l) => l.msg === 'agent: node attestation succeeded' || l.msg === 'agent: attested again at start');
    step(`attested with the TPM as ${attested}${timing?.ms !== undefined ? ` in ${timing.ms} ms` : ''}`);
  }

  const { uid, username } = userInfo();
  const spiffeId = `spiffe://${TRUST_DOMAIN}/user/${username.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const selector = `unix:uid:${uid}`;
  const existing = JSON.parse(
    sigil(['server', 'entry', 'list', '--spiffe-id', spiffeId, '--parent-id', attested, '--selector', selector, '--match-selectors-on', 'exact', '--output', 'json', ...admin], 'listing entries'),
  ).entries;
  if (existing.length > 0) {
    // A re-run: the agent kept its SVID (and so its ID) from the last run, and the entry is there.
    step(`${spiffeId} is already registered for ${selector} (entry ${existing[0].id})`);
  } else {
    step(`registering ${spiffeId} for ${selector}, parented to the agent ${attested} ...`);
    sigil(['server', 'entry', 'create', '--parent-id', attested, '--spiffe-id', spiffeId, '--selector', selector, ...admin], 'creating the registration entry');
  }

  step('fetching this process\'s X.509-SVID over the Workload API ...');
  rmSync(P.svidDir, { recursive: true, force: true });
  mkdirSync(P.svidDir, { recursive: true });
  let fetched;
  for (let attempt = 0; attempt < 50; attempt++) {
    fetched = spawnSync(SIGIL, ['agent', 'api', 'fetch', 'x509', '--socket-path', P.agentSocket, '--write', P.svidDir], { encoding: 'utf8' });
    if (fetched.status === 0) break;
    await sleep(200);
  }
  if (fetched.status !== 0) fail(`fetching the SVID failed:\n${fetched.stderr}`, P.agentLog);
  process.stdout.write(fetched.stdout);

  const verify = spawnSync('openssl', ['verify', '-CAfile', join(P.svidDir, 'bundle.0.pem'), join(P.svidDir, 'svid.0.pem')], { encoding: 'utf8' });
  if (verify.status !== 0) fail(`the SVID chain does not verify against the bundle:\n${verify.stdout}${verify.stderr}`);
  step(`chain verified against the trust bundle (openssl verify: ${verify.stdout.trim()})`);

  process.stdout.write(
    `\nThe server (pid ${server.pid}) and the agent (pid ${agent.pid})${TPM ? ` and swtpm (pid ${pids.swtpm})` : ''} keep running; logs in ${rel(BASE)}/*.log.\n` +
      `  fetch again:  ./bin/sigil agent api fetch x509 --socket-path ${rel(P.agentSocket)}\n` +
      `  entries:      ./bin/sigil server entry list --admin-socket ${rel(P.adminSocket)}\n` +
      `  agents:       ./bin/sigil server agent list --admin-socket ${rel(P.adminSocket)}\n` +
      `  stop ${TPM ? 'all: ' : 'both:'}    npm run quickstart -- --stop\n`,
  );
}

await main();
