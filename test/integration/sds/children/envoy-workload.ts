/**
 * A workload behind an "Envoy" for the SDS mTLS test, run as a child process under its own uid:
 * it fetches its certificate and validation context over SDS from the agent socket (one stream per
 * name, as Envoy does) and then, using only those, either serves mutual TLS or connects to a server,
 * checking the peer's SPIFFE ID. Every event is one JSON line on stdout.
 *
 *   envoy-workload.js SOCKET serve   CERT_NAME VALIDATION_NAME EXPECTED_PEER_ID
 *   envoy-workload.js SOCKET connect CERT_NAME VALIDATION_NAME EXPECTED_PEER_ID PORT
 */
import { X509Certificate } from 'node:crypto';
import { connect, createServer } from 'node:tls';
import { EnvoySdsClient } from '../../../support/envoy-sds-client.js';
import { tlsMaterial, uriSan, verifyPeer } from '../../../support/sds-tls.js';

const [socketPath, mode, certName, validationName, expected, port] = process.argv.slice(2);
if (socketPath === undefined || certName === undefined || validationName === undefined || expected === undefined) {
  throw new Error('usage: envoy-workload.js SOCKET serve|connect CERT_NAME VALIDATION_NAME EXPECTED_PEER_ID [PORT]');
}
const say = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, pid: process.pid, uid: process.getuid?.(), ...fields })}\n`);
};

const sds = new EnvoySdsClient(socketPath);
const certWatch = sds.watch(certName, 'certificate');
const validationWatch = sds.watch(validationName, 'validation');
try {
  const [certificate, validation] = await Promise.all([certWatch.ready(20_000), validationWatch.ready(20_000)]);
  const m = tlsMaterial(certificate, validation);
  say('secrets', { id: uriSan(new X509Certificate(m.cert).subjectAltName), trustDomains: m.trustDomains === undefined ? null : [...m.trustDomains.keys()] });
  if (mode === 'serve') {
    const server = createServer({ cert: m.cert, key: m.key, ca: m.ca, requestCert: true, rejectUnauthorized: true }, (sock) => {
      try {
        say('peer', { id: verifyPeer(sock, m, expected) });
        sock.end('hello from the server\n');
      } catch (err) {
        say('rejected', { error: (err as Error).message });
        sock.destroy();
      }
    });
    server.on('tlsClientError', (err) => say('handshake-failed', { error: err.message }));
    server.listen(0, '127.0.0.1', () => say('listening', { port: (server.address() as { port: number }).port }));
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  } else {
    const sock = connect({ host: '127.0.0.1', port: Number(port), cert: m.cert, key: m.key, ca: m.ca, checkServerIdentity: () => undefined });
    let text = '';
    sock.on('secureConnect', () => {
      try {
        say('peer', { id: verifyPeer(sock, m, expected) });
      } catch (err) {
        say('rejected', { error: (err as Error).message });
        sock.destroy();
      }
    });
    sock.setEncoding('utf8').on('data', (d: string) => (text += d));
    sock.on('end', () => {
      say('data', { text });
      process.exit(0);
    });
    sock.on('error', (err) => {
      say('error', { error: err.message });
      process.exit(1);
    });
  }
} catch (err) {
  say('failed', { error: (err as Error).message });
  process.exit(1);
} finally {
  if (mode !== 'serve') {
    certWatch.cancel();
    validationWatch.cancel();
  }
}
