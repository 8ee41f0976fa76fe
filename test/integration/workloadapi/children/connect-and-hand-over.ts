/**
 * Process A of the PID-reuse test. It connects to the socket (so the agent records A's PID and pins
 * A), hands the connected socket to a child G as fd 3, reports both PIDs, and exits when told to on
 * stdin. G keeps the connection — the agent still believes A is at the other end — and makes calls
 * on it when signalled (children/call-on-fd.ts).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: connect-and-hand-over.js SOCKET');
const sock = connect(socketPath);
// A must not read: the agent's first HTTP/2 frames are for G, which speaks HTTP/2 on the connection.
sock.pause();
sock.once('connect', () => {
  // Long enough for the agent to accept, pin A and hand the connection to grpc-js.
  setTimeout(() => {
    const g = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'call-on-fd.js')], {
      stdio: ['ignore', 'inherit', 'inherit', sock],
      detached: true,
    });
    g.unref();
    process.stdout.write(`${JSON.stringify({ a: process.pid, g: g.pid })}\n`);
    process.stdin.once('data', () => process.exit(0));
  }, 300);
});
