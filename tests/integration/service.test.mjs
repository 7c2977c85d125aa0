// SPDX-License-Identifier: Apache-2.0
//
// Running like a service (gateway-core issue, item 11): TLS terminated by the gateway
// itself (https, wss, Secure cookie), forwarded headers believed only from configured
// proxies, and the SIGTERM drain: in-flight messages finish, sockets close with 1001,
// exit status 0, and what was acknowledged is there after the restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import WebSocket from 'ws';
import { startGateway, freePort, addStaff, pgQuery, wsConnect } from './lib/harness.mjs';

const EMAIL = 'tls.test@demo-clinic.example';
const PW = 'a long enough password';

function httpsRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const h = body ? { ...headers, 'content-length': Buffer.byteLength(body) } : headers;
    const req = https.request(url, { method, headers: h, rejectUnauthorized: false, agent: false }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function loginHeaders(url, extra = {}) {
  const r = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url, ...extra },
    body: JSON.stringify({ email: EMAIL, password: PW }),
  });
  return { status: r.status, cookie: r.headers.get('set-cookie') || '' };
}

test('TLS: https and wss served by the gateway itself, session cookie marked Secure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'),
      '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const port = await freePort();
    const origin = `https://127.0.0.1:${port}`;
    const gw = await startGateway({
      port, waitReady: false,
      config: { tls_cert_file: join(dir, 'cert.pem'), tls_key_file: join(dir, 'key.pem'), allowed_origins: origin },
    });
    try {
      let ready = null;
      for (let i = 0; i < 150 && !(ready && ready.status === 200); i++) {
        ready = await httpsRequest(`${origin}/readyz`).catch(() => null);
        if (!ready || ready.status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(ready?.status, 200, 'readyz over https');
      await addStaff(gw, EMAIL, 'agent', PW);
      const login = await httpsRequest(`${origin}/api/login`, {
        method: 'POST', headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ email: EMAIL, password: PW }),
      });
      assert.equal(login.status, 200, login.body);
      const setCookie = String(login.headers['set-cookie'] || '');
      assert.match(setCookie, /;\s*Secure/i, 'cookie is Secure under TLS');
      assert.match(setCookie, /HttpOnly/i);
      assert.match(setCookie, /SameSite=Strict/i);

      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws/patient`, 'caregate.patient.v1',
        { origin, rejectUnauthorized: false });
      const welcome = await new Promise((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', session: null, lang: 'en' })));
        ws.on('message', (d) => { const m = JSON.parse(String(d)); if (m.type === 'welcome') resolve(m); });
      });
      assert.ok(welcome.session && welcome.conversation);
      ws.close();
      // Plain HTTP on the TLS port is not served.
      const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status).catch(() => 'refused');
      assert.notEqual(plain, 200);
    } finally {
      await gw.cleanup();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('X-Forwarded-Proto is believed only from a trusted proxy', async () => {
  const untrusted = await startGateway({});
  try {
    await addStaff(untrusted, EMAIL, 'agent', PW);
    const r = await loginHeaders(untrusted.url, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' });
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.cookie, /;\s*Secure/i, 'a client cannot claim https by itself');
  } finally {
    await untrusted.cleanup();
  }
  const trusted = await startGateway({ config: { trusted_proxies: '127.0.0.1' } });
  try {
    await addStaff(trusted, EMAIL, 'agent', PW);
    const r = await loginHeaders(trusted.url, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' });
    assert.equal(r.status, 200);
    assert.match(r.cookie, /;\s*Secure/i, 'behind a trusted TLS proxy the cookie is Secure');
  } finally {
    await trusted.cleanup();
  }
});

test('SIGTERM drains: acknowledged messages kept, sockets closed with 1001, exit 0', async () => {
  const gw = await startGateway({});
  try {
    const p = await wsConnect(gw, 'caregate.patient.v1', { path: '/ws/patient' });
    p.send({ type: 'hello', session: null, lang: 'de' });
    const welcome = await p.next('welcome');
    const closeCode = new Promise((resolve) => p.ws ? p.ws.once('close', (c) => resolve(c)) : resolve(null));
    // A burst just before the signal: whatever was acknowledged must survive.
    for (let i = 0; i < 20; i++) p.send({ type: 'msg', client_id: `drain-${i}`, text: `vor dem Stopp ${i}` });
    const first = await p.next('ack', 10000);
    assert.ok(first.id);
    const exited = gw.stop('SIGTERM');
    const { code } = await exited;
    assert.equal(code, 0, 'clean exit after draining');
    const acked = p.frames.filter((f) => f.type === 'ack').map((f) => f.client_id);
    const c = await Promise.race([closeCode, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (p.ws) assert.equal(c, 1001, 'sockets are closed with 1001 (going away)');
    const again = await gw.restart();
    const rows = (await pgQuery(again, 'SELECT client_id FROM message WHERE conversation_id = $1', [welcome.conversation])).rows;
    const stored = new Set(rows.map((r) => r.client_id));
    for (const cid of acked) assert.ok(stored.has(cid), `acknowledged ${cid} lost`);
    await again.cleanup();
  } finally {
    await gw.cleanup().catch(() => {});
  }
});
