/**
 * The latest-wins stream writer against a fake call, and the write budget all streams share: a cap
 * on bytes in flight, served in order, taken back from a write that never finishes.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { LatestWinsStream, WriteBudget } from '../../../../agent/workloadapi/stream.js';

class FakeCall extends EventEmitter {
  written: Buffer[] = [];
  callbacks: (() => void)[] = [];
  cancelled = false;
  ended = false;
  write(chunk: Buffer, cb: () => void): boolean {
    this.written.push(chunk);
    this.callbacks.push(cb);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  /** The socket took everything written so far. */
  flush(): void {
    for (const cb of this.callbacks.splice(0)) cb();
  }
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

const asCall = (c: FakeCall): ServerWritableStream<unknown, Buffer> => c as unknown as ServerWritableStream<unknown, Buffer>;
const big = (): WriteBudget => new WriteBudget(1 << 30, 60_000);
const text = (c: FakeCall): string[] => c.written.map(String);

describe('agent/workloadapi: latest-wins stream', () => {
  it('while a message is in flight, keeps only the newest for later; equal bytes are not sent twice', () => {
    const call = new FakeCall();
    const s = new LatestWinsStream(asCall(call), big());
    s.send(Buffer.from('1'));
    s.send(Buffer.from('2'));
    s.send(Buffer.from('3'));
    assert.deepEqual(text(call), ['1']);
    call.flush();
    assert.deepEqual(text(call), ['1', '3']);
    call.flush();
    s.send(Buffer.from('3'));
    assert.deepEqual(text(call), ['1', '3']);
    assert.equal(s.sentAny, true);
  });

  it('runs close hooks once on cancel, sends nothing after, and gives its budget back', () => {
    const budget = big();
    const call = new FakeCall();
    const s = new LatestWinsStream(asCall(call), budget);
    let closes = 0;
    s.onClose(() => closes++);
    s.send(Buffer.alloc(10));
    assert.equal(budget.inFlight, 10);
    call.cancel(); // grpc-js never calls back for the write of a cancelled call
    assert.equal(budget.inFlight, 0);
    s.send(Buffer.from('x'));
    s.end();
    assert.equal(closes, 1);
    assert.equal(call.written.length, 1);
    assert.equal(call.ended, false);
    let late = 0;
    s.onClose(() => late++);
    assert.equal(late, 1);
  });

  it('ends with a status through the error event', () => {
    const call = new FakeCall();
    const seen: unknown[] = [];
    call.on('error', (e) => seen.push(e));
    new LatestWinsStream(asCall(call), big()).end({ code: 7, details: 'no identity issued' });
    assert.deepEqual(seen, [{ code: 7, details: 'no identity issued' }]);
  });
});

describe('agent/workloadapi: write budget', () => {
  it('lets streams write while the bytes in flight fit, queues the rest in order, and sends the newest state', () => {
    const budget = new WriteBudget(100, 60_000);
    const calls = [new FakeCall(), new FakeCall(), new FakeCall()];
    const streams = calls.map((c) => new LatestWinsStream(asCall(c), budget));
    streams[0]?.send(Buffer.alloc(60, 'a'));
    streams[1]?.send(Buffer.alloc(60, 'b'));
    streams[2]?.send(Buffer.alloc(30, 'c'));
    assert.deepEqual(calls.map((c) => c.written.length), [1, 0, 0]);
    assert.equal(budget.inFlight, 60);
    streams[1]?.send(Buffer.alloc(50, 'B')); // replaces what stream 1 was waiting to send
    calls[0]?.flush();
    assert.deepEqual(calls.map((c) => c.written.length), [1, 1, 1]);
    assert.equal(String(calls[1]?.written[0]?.subarray(0, 1)), 'B');
    assert.equal(budget.inFlight, 60 + 30);
  });

  it('sends a message larger than the whole budget when nothing else is in flight', () => {
    const budget = new WriteBudget(10, 60_000);
    const call = new FakeCall();
    new LatestWinsStream(asCall(call), budget).send(Buffer.alloc(50));
    assert.equal(call.written.length, 1);
  });

  it('takes a grant back after holdMs from a caller that does not read, so others are not stalled', async () => {
    const budget = new WriteBudget(100, 30);
    const stuck = new FakeCall();
    const other = new FakeCall();
    new LatestWinsStream(asCall(stuck), budget).send(Buffer.alloc(100));
    new LatestWinsStream(asCall(other), budget).send(Buffer.alloc(100));
    assert.equal(other.written.length, 0);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(other.written.length, 1);
  });
});
