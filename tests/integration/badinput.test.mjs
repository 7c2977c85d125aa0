// SPDX-License-Identifier: Apache-2.0
// A corpus of bad frames against the patient socket. Each one gets its stable error code
// (or close code), and a bystander patient on the same gateway keeps being served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, prepare, startGateway, stopGateway, stopAll, patient, sleep } from './lib/server_fixture.mjs';

let pg, dir, gw, bystander, seq = 0;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bad-'));
  pg = new Cluster();
  pg.start();
  const config = prepare(pg, dir, { max_frame_bytes: 65536, max_message_bytes: 2000, rate_limit_burst: 5, rate_limit_per_minute: 60 });
  gw = await startGateway(config);
  bystander = await patient(gw);
});

after(async () => {
  bystander?.close();
  if (gw) {
    const r = await stopGateway(gw);
    assert.equal(r.code, 0, `gateway exit: ${JSON.stringify(r)}\n${gw.logs}`);
  }
  stopAll();
  pg?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The gateway still serves: the bystander (connected before any bad input) gets its
// message acknowledged, and a new patient can connect and write.
async function stillServing() {
  const cid = `ok${seq++}`;
  const fresh = await patient(gw);
  for (const s of [bystander, fresh]) {
    s.sendJson({ type: 'msg', client_id: cid, text: 'noch da?' });
    const a = await s.next((m) => (m.type === 'ack' || m.type === 'error') && m.client_id === cid);
    // the bystander may meet its own rate limit over many checks: that is still an answer
    assert.ok(a.type === 'ack' || (s === bystander && a.code === 'rate_limited'), JSON.stringify(a));
  }
  fresh.close();
}

const errorCases = [
  ['not JSON', 'hello there', 'bad_json'],
  ['JSON but not an object', '[1,2,3]', 'bad_json'],
  ['truncated JSON', '{"type":"msg",', 'bad_json'],
  ['type missing', '{"client_id":"x","text":"y"}', 'bad_request'],
  ['type not a string', '{"type":7}', 'bad_request'],
  ['unknown type', '{"type":"launch_missiles"}', 'unknown_type'],
  ['client_id missing', '{"type":"msg","text":"y"}', 'bad_request'],
  ['client_id a number', '{"type":"msg","client_id":5,"text":"y"}', 'bad_request'],
  ['text missing', '{"type":"msg","client_id":"t1"}', 'bad_request'],
  ['text an object', '{"type":"msg","client_id":"t2","text":{"a":1}}', 'bad_request'],
  ['text empty', '{"type":"msg","client_id":"t3","text":""}', 'bad_request'],
  ['oversize text', JSON.stringify({ type: 'msg', client_id: 't4', text: 'x'.repeat(2001) }), 'too_large'],
  ['session a number', '{"type":"hello","session":42}', 'bad_request'],
];

for (const [name, frame, code] of errorCases) {
  test(`bad frame: ${name} -> ${code}`, async () => {
    const p = await patient(gw);
    p.send(frame);
    const e = await p.next('error');
    assert.equal(e.code, code);
    assert.equal(typeof e.message, 'string');
    // the socket stays usable after an error frame
    p.sendJson({ type: 'msg', client_id: 'after', text: 'weiter' });
    await p.next((m) => m.type === 'ack' && m.client_id === 'after');
    p.close();
    await stillServing();
  });
}

test('error frames echo client_id when there is one', async () => {
  const p = await patient(gw);
  p.sendJson({ type: 'msg', client_id: 'big1', text: 'y'.repeat(5000) });
  const e = await p.next('error');
  assert.equal(e.code, 'too_large');
  assert.equal(e.client_id, 'big1');
  p.close();
});

test('10 MB frame: too_large and close 1009, gateway keeps serving', async () => {
  const p = await patient(gw);
  p.send('{"type":"msg","client_id":"huge","text":"' + 'A'.repeat(10 * 1024 * 1024) + '"}');
  const closed = await p.closed;
  assert.equal(closed.code, 1009);
  await stillServing();
});

test('a frame split in fragments under the cap is accepted', async () => {
  const p = await patient(gw);
  const body = JSON.stringify({ type: 'msg', client_id: 'frag', text: 'z'.repeat(1500) });
  p.send(body.slice(0, 100), { fin: false });
  p.send(body.slice(100, 900), { fin: false });
  p.send(body.slice(900), { fin: true });
  await p.next((m) => m.type === 'ack' && m.client_id === 'frag');
  p.close();
});

test('fragments adding up to more than max_frame_bytes: close 1009', async () => {
  const p = await patient(gw);
  const chunk = 'B'.repeat(30000);
  p.send('{"type":"msg","client_id":"f","text":"' + chunk, { fin: false });
  p.send(chunk, { fin: false });
  p.send(chunk + '"}', { fin: true });
  const closed = await p.closed;
  assert.equal(closed.code, 1009);
  await stillServing();
});

test('invalid UTF-8 in a text frame: close 1007', async () => {
  const p = await patient(gw);
  // ws refuses to send invalid UTF-8 as text; write the raw frame on its socket
  const payload = Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  p._socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  const closed = await p.closed;
  assert.equal(closed.code, 1007);
  await stillServing();
});

test('binary frame is answered with bad_json', async () => {
  const p = await patient(gw);
  p.send(Buffer.from([0, 1, 2, 3]), { binary: true });
  const r = await Promise.race([p.next('error').then((e) => e.code), p.closed.then((c) => `close ${c.code}`)]);
  assert.ok(['bad_json', 'close 1003', 'close 1007'].includes(r), r);
  await stillServing();
});

test('msg before hello -> bad_request', async () => {
  const { wsConnect } = await import('./lib/server_fixture.mjs');
  const p = wsConnect(gw, 'patient');
  await p.opened;
  p.sendJson({ type: 'msg', client_id: 'early', text: 'x' });
  const e = await p.next('error');
  assert.equal(e.code, 'bad_request');
  assert.equal(e.client_id, 'early');
  p.close();
});

test('rate limit: burst then rate_limited, other sessions unaffected', async () => {
  const p = await patient(gw);
  for (let i = 0; i < 12; i++) p.sendJson({ type: 'msg', client_id: `rl${i}`, text: `n${i}` });
  const limited = await p.next((m) => m.type === 'error' && m.code === 'rate_limited');
  assert.match(limited.client_id, /^rl\d+$/);
  let acks = 0;
  await sleep(500);
  acks = p.frames.filter((m) => m.type === 'ack').length;
  assert.ok(acks >= 4 && acks <= 6, `acks=${acks}`); // burst 5 (+ refill)
  p.close();
  await stillServing();
});

test('garbage flood from many sockets does not stall the bystander', async () => {
  const socks = await Promise.all(Array.from({ length: 10 }, () => patient(gw)));
  for (const s of socks) for (let i = 0; i < 50; i++) s.send(i % 2 ? '{{{' : '{"type":"nope"}');
  await stillServing();
  for (const s of socks) s.close();
});
