// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 connection handling on raw sockets (gw_server.c): an answer given before the
// request body was read (413 for an oversize Content-Length, 411 for a body without one,
// 404 for a POST nobody reads) says "connection: close" and the socket is closed promptly,
// whether or not the client sends the body; requests whose body was read keep the
// connection, which stays usable past lws's old 5 s idle default.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Cluster, prepare, startGateway, stopGateway, stopAll, sleep } from './lib/server_fixture.mjs';

let pg, dir, gw;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-http-'));
  pg = new Cluster();
  pg.start();
  gw = await startGateway(prepare(pg, dir));
});

after(async () => {
  if (gw) {
    const r = await stopGateway(gw);
    assert.equal(r.code, 0, `gateway exit: ${JSON.stringify(r)}\n${gw.logs}`);
  }
  stopAll();
  pg?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

const req = (method, uri, headers = '', body = '') =>
  `${method} ${uri} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n${body}`;

// One raw connection. write() sends bytes; responses() parses what arrived so far into
// {status, headers, body} by content-length; ended says when the server's FIN came (ms).
function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const c = { raw: '', ended: null, error: null, t0: Date.now() };
    s.on('data', (d) => { c.raw += d.toString('latin1'); });
    s.on('end', () => { c.ended = Date.now() - c.t0; });
    s.on('error', (e) => { c.error = e.code; });
    c.write = (x) => new Promise((res) => s.write(x, () => res()));
    c.destroy = () => s.destroy();
    c.responses = () => {
      const out = [];
      let rest = c.raw;
      for (;;) {
        const h = rest.indexOf('\r\n\r\n');
        if (h < 0) break;
        const lines = rest.slice(0, h).split('\r\n');
        const headers = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        if (rest.length < h + 4 + len) break;
        out.push({ status: Number(lines[0].split(' ')[1]), headers, body: rest.slice(h + 4, h + 4 + len) });
        rest = rest.slice(h + 4 + len);
      }
      return out;
    };
    c.until = async (pred, ms = 3000) => {
      const end = Date.now() + ms;
      while (!pred() && Date.now() < end) await sleep(10);
      return pred();
    };
    s.on('connect', () => resolve(c));
    s.on('error', reject);
  });
}

async function answeredAndClosed(c, status, what) {
  assert.ok(await c.until(() => c.ended !== null), `${what}: the socket was not closed (got ${JSON.stringify(c.raw.slice(0, 80))})`);
  const r = c.responses();
  assert.equal(r.length, 1, `${what}: exactly one response`);
  assert.equal(r[0].status, status, what);
  assert.equal(r[0].headers.connection, 'close', `${what}: connection: close`);
  assert.ok(c.ended < 2000, `${what}: closed after ${c.ended} ms`);
  c.destroy();
  return r[0];
}

test('oversize POST with its body sent: 413, connection closed promptly', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Type: application/json\r\nContent-Length: 200000\r\n', 'x'.repeat(200000)));
  const r = await answeredAndClosed(c, 413, 'oversize POST');
  assert.equal(JSON.parse(r.body).error, 'too_large');
  assert.equal(c.error, null, 'the client saw an orderly close, not a reset');
});

test('oversize POST whose body never comes: 413 at once, connection closed', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Type: application/json\r\nContent-Length: 100000\r\n'));
  await answeredAndClosed(c, 413, 'oversize POST, headers only');
});

test('oversize POST followed by another request on the same socket: only the 413', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Length: 9000\r\n', 'x'.repeat(9000)) + req('GET', '/healthz'));
  await answeredAndClosed(c, 413, 'oversize POST then GET');
});

test('Meta webhook over 4 MiB: 413 before the body is read, connection closed, next request answered', async () => {
  const big = 4 * 1024 * 1024 + 10;
  const c = await connect(gw.port);
  await c.write(req('POST', '/webhooks/meta', `Content-Type: application/json\r\nContent-Length: ${big}\r\n`, 'x'.repeat(big)));
  const r = await answeredAndClosed(c, 413, 'oversize webhook');
  assert.match(r.headers['content-type'], /^text\/plain/, 'answered by the webhook handler (gw_meta), not the generic one');
  // the same thing with the body never sent
  const h = await connect(gw.port);
  await h.write(req('POST', '/webhooks/meta', `Content-Type: application/json\r\nContent-Length: ${big}\r\n`));
  await answeredAndClosed(h, 413, 'oversize webhook, headers only');
  // the server still answers the next connection at once
  const n = await connect(gw.port);
  await n.write(req('GET', '/healthz', 'Connection: close\r\n'));
  assert.ok(await n.until(() => n.responses().length === 1), 'healthz after the oversize webhooks');
  assert.equal(n.responses()[0].status, 200);
  n.destroy();
});

test('chunked POST without Content-Length: 411, connection closed', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n', '5\r\n{"a":\r\n0\r\n\r\n'));
  const r = await answeredAndClosed(c, 411, 'chunked POST');
  assert.equal(JSON.parse(r.body).error, 'length_required');
});

test('Transfer-Encoding with a Content-Length as well: 411 (never two framings)', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Length: 12\r\nTransfer-Encoding: chunked\r\n', '5\r\n{"a":\r\n0\r\n\r\n'));
  await answeredAndClosed(c, 411, 'TE + CL');
});

test('bad Content-Length: 400, connection closed', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/api/login', 'Content-Length: 99999999999999999999999\r\n'));
  await answeredAndClosed(c, 400, 'bad content-length');
});

test('POST answered before its body is read (unknown path): one 404, then closed', async () => {
  const c = await connect(gw.port);
  await c.write(req('POST', '/nope', 'Content-Length: 5\r\n', 'hello'));
  await sleep(200);
  await c.write(req('GET', '/healthz'));
  const r = await answeredAndClosed(c, 404, 'POST /nope');
  assert.equal(JSON.parse(r.body).error, 'not_found');
});

test('keep-alive: several requests on one socket, also after 6 s idle and after a read body', async () => {
  const c = await connect(gw.port);
  await c.write(req('GET', '/healthz'));
  assert.ok(await c.until(() => c.responses().length === 1));
  await c.write(req('GET', '/healthz'));
  assert.ok(await c.until(() => c.responses().length === 2));
  // a POST whose body was read and refused: the connection stays usable
  await c.write(req('POST', '/api/login', 'Content-Type: application/json\r\nContent-Length: 2\r\n', '{}'));
  assert.ok(await c.until(() => c.responses().length === 3));
  // idle longer than lws's default keep-alive (5 s): still open
  await sleep(6000);
  assert.equal(c.ended, null, 'the server closed an idle keep-alive connection after < 6 s');
  await c.write(req('GET', '/healthz'));
  assert.ok(await c.until(() => c.responses().length === 4), 'fourth response');
  const r = c.responses();
  assert.deepEqual(r.map((x) => x.status), [200, 200, 400, 200]);
  for (const x of r) assert.notEqual(x.headers.connection, 'close');
  assert.equal(c.ended, null);
  assert.equal(c.error, null);
  c.destroy();
});
