// SPDX-License-Identifier: Apache-2.0
//
// Conformance tests of the fake Meta platform itself (tests/fake-meta/server.mjs) against
// meta-platforms.md §1–§8, with a tiny receiver standing in for the gateway. If the fake
// drifts from the spec, the bridge tests would prove nothing: this file pins it down.
// No caregate binary or database is involved.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startFakeMeta, metaEscape } from '../fake-meta/server.mjs';

let fake, recv, recvUrl;
const got = [];
let recvMode = 'ok';

function startReceiver(secret, verifyToken) {
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      if (req.method === 'GET') {
        const ok = u.searchParams.get('hub.mode') === 'subscribe' && u.searchParams.get('hub.verify_token') === verifyToken;
        res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' });
        return res.end(ok ? u.searchParams.get('hub.challenge') : '');
      }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const want = 'sha256=' + crypto.createHmac('sha256', secret).update(raw).digest('hex');
        const sigOk = req.headers['x-hub-signature-256'] === want;
        got.push({ raw: raw.toString('utf8'), sigOk, headers: req.headers });
        if (recvMode === 'fail-once') { recvMode = 'ok'; res.writeHead(500); return res.end(); }
        res.writeHead(sigOk ? 200 : 401);
        res.end('EVENT_RECEIVED');
      });
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

async function call(path, body, { method = 'POST', headers = {} } = {}) {
  const r = await fetch(fake.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}
const AUTH = { authorization: 'Bearer EAAG-valid-token' };
const waitFor = async (fn, ms = 3000) => {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

before(async () => {
  recv = await startReceiver('fake-app-secret', 'fake-verify-token');
  recvUrl = `http://127.0.0.1:${recv.address().port}/webhooks/meta`;
  fake = await startFakeMeta({ callback_url: recvUrl, retry_schedule_ms: [50, 100] });
});
after(async () => { await fake.close(); recv.close(); });

test('escaping: non-ASCII as lowercase \\uXXXX, slash as \\/, @ escaped', () => {
  assert.equal(metaEscape(JSON.stringify({ t: 'Pérez a@b 1/2 👍' })), '{"t":"P\\u00e9rez a\\u0040b 1\\/2 \\ud83d\\udc4d"}');
});

test('§1 handshake: challenge echoed verbatim, wrong token refused', async () => {
  const r = await call('/_fake/verify', {});
  assert.equal(r.json.pass, true, JSON.stringify(r.json));
});

test('§2.1 webhook: exact bytes signed, SHA-1 header too, Meta escaping on the wire', async () => {
  got.length = 0;
  const r = await call('/_fake/wa/inbound', { from: '5215512345678', text: 'Hola ¿cita? a@b 1/2', name: 'Ana Pérez' });
  assert.equal(r.json.status, 200);
  assert.equal(got.length, 1);
  assert.equal(got[0].sigOk, true);
  assert.match(got[0].headers['x-hub-signature'], /^sha1=[0-9a-f]{40}$/);
  assert.ok(got[0].raw.includes('\\u00bfcita? a\\u0040b 1\\/2'), got[0].raw);
  assert.ok(got[0].raw.includes('P\\u00e9rez'));
  const body = JSON.parse(got[0].raw);
  assert.equal(body.object, 'whatsapp_business_account');
  assert.equal(body.entry[0].changes[0].value.metadata.phone_number_id, fake.cfg.phone_number_id);
  assert.equal(typeof body.entry[0].changes[0].value.messages[0].timestamp, 'string');
});

test('§2.3 retries after non-200, faults bad/no signature, duplicate', async () => {
  got.length = 0;
  recvMode = 'fail-once';
  const r = await call('/_fake/fb/inbound', { text: 'x' });
  assert.equal(r.json.status, 500);
  await waitFor(() => got.length >= 2);
  assert.equal(got[0].raw, got[1].raw, 'retry sends identical bytes');
  got.length = 0;
  await call('/_fake/wa/inbound', { faults: { bad_signature: true, no_retry: true } });
  assert.equal(got[0].sigOk, false);
  got.length = 0;
  await call('/_fake/wa/inbound', { faults: { no_signature: true, no_retry: true } });
  assert.equal(got[0].headers['x-hub-signature-256'], undefined);
  got.length = 0;
  await call('/_fake/ig/inbound', { faults: { duplicate: true } });
  assert.equal(got.length, 2);
  assert.equal(got[0].raw, got[1].raw);
});

test('§8.2 batching: entries × changes; IG dashboard changes shape; BSUID-only sender', async () => {
  got.length = 0;
  await call('/_fake/wa/inbound', { text: 'b', batch: 6, entries: 3, changes: 2 });
  const b = JSON.parse(got[0].raw);
  assert.equal(b.entry.length, 3);
  assert.equal(b.entry[0].changes.length, 2);
  got.length = 0;
  await call('/_fake/ig/inbound', { text: 'hi', shape: 'changes' });
  assert.equal(JSON.parse(got[0].raw).entry[0].changes[0].field, 'messages');
  got.length = 0;
  await call('/_fake/wa/inbound', { text: 'x', bsuid_mode: 'only' });
  const m = JSON.parse(got[0].raw).entry[0].changes[0].value;
  assert.equal(m.messages[0].from, '');
  assert.match(m.messages[0].from_user_id, /^user\./);
});

test('§4 WhatsApp Send API: auth, validation, window 131047, success + statuses with callback data', async () => {
  const path = `/v25.0/${fake.cfg.phone_number_id}/messages`;
  const msg = { messaging_product: 'whatsapp', to: '+4915112345678', type: 'text', text: { body: 'hi' }, biz_opaque_callback_data: 'corr-1' };
  let r = await call(path, msg);
  assert.equal(r.status, 400);
  r = await call(path, msg, { headers: { authorization: 'Bearer EAAG-expired-token' } });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 190);
  assert.equal(r.json.error.error_subcode, 463);
  r = await call(path, msg, { headers: AUTH });
  assert.equal(r.json.error.code, 131047, 'no inbound yet: outside the window');
  r = await call(path, { ...msg, messaging_product: undefined }, { headers: AUTH });
  assert.equal(r.json.error.code, 100);
  await call('/_fake/wa/inbound', { from: '4915112345678', text: 'hallo' });
  got.length = 0;
  r = await call(path, msg, { headers: AUTH });
  assert.equal(r.status, 200);
  assert.match(r.json.messages[0].id, /^wamid\./);
  assert.equal(r.json.contacts[0].wa_id, '4915112345678');
  await waitFor(() => got.length >= 3);
  const statuses = got.map((g) => JSON.parse(g.raw).entry[0].changes[0].value.statuses[0]);
  // separate POSTs: arrival order is not guaranteed (as with Meta, §3.6)
  assert.deepEqual(statuses.map((s) => s.status).sort(), ['delivered', 'read', 'sent']);
  assert.ok(statuses.every((s) => s.biz_opaque_callback_data === 'corr-1' && s.id === r.json.messages[0].id));
  r = await call(path, { ...msg, text: { body: 'x'.repeat(4097) } }, { headers: AUTH });
  assert.equal(r.json.error.code, 100);
  // the clock moves the window
  await call('/_fake/clock', { advance_seconds: 25 * 3600 });
  r = await call(path, msg, { headers: AUTH });
  assert.equal(r.json.error.code, 131047);
  r = await call(path, { messaging_product: 'whatsapp', to: '+4915112345678', type: 'template', template: { name: 'new_reply', language: { code: 'de' } } }, { headers: AUTH });
  assert.equal(r.status, 200, 'templates are allowed outside the window');
  const sent = await call('/_fake/sent?channel=whatsapp', undefined, { method: 'GET' });
  assert.ok(sent.json.length >= 5);
  assert.equal(sent.json.at(-1).authorization, 'Bearer REDACTED');
  await call('/_fake/reset', {});
});

test('§5 Messenger: window 2018278, HUMAN_AGENT 7 days, deprecated tags, unknown PSID, echo metadata', async () => {
  const path = `/v25.0/${fake.cfg.page_id}/messages`;
  await call('/_fake/fb/inbound', { from: '6200000000000099', text: 'hola' });
  const body = { recipient: { id: '6200000000000099' }, messaging_type: 'RESPONSE', message: { text: 'sí', metadata: 'corr-fb' } };
  got.length = 0;
  let r = await call(`${path}?access_token=EAAG-valid-token`, body);
  assert.equal(r.status, 200);
  assert.match(r.json.message_id, /^m_/);
  const fbEcho = (g) => g.raw.includes('is_echo') && g.raw.includes('corr-fb');
  await waitFor(() => got.some(fbEcho));
  const echo = JSON.parse(got.find(fbEcho).raw).entry[0].messaging[0];
  assert.equal(echo.message.metadata, 'corr-fb');
  await call('/_fake/clock', { advance_seconds: 25 * 3600 });
  r = await call(path, body, { headers: AUTH });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 10);
  assert.equal(r.json.error.error_subcode, 2018278);
  r = await call(path, { ...body, messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }, { headers: AUTH });
  assert.equal(r.status, 200);
  r = await call(path, { ...body, messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' }, { headers: AUTH });
  assert.equal(r.json.error.code, 100);
  await call('/_fake/clock', { advance_seconds: 7 * 24 * 3600 });
  r = await call(path, { ...body, messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }, { headers: AUTH });
  assert.equal(r.json.error.error_subcode, 2018278);
  r = await call(path, { ...body, recipient: { id: '1' } }, { headers: AUTH });
  assert.equal(r.json.error.error_subcode, 2018001);
  await call('/_fake/reset', {});
});

test('§6 Instagram: 1000-byte limit, window 2534022, echo as object instagram', async () => {
  const path = `/v25.0/${fake.cfg.ig_id}/messages`;
  await call('/_fake/ig/inbound', { from: '1130000000000077', text: 'hola' });
  let r = await call(path, { recipient: { id: '1130000000000077' }, message: { text: 'é'.repeat(501) } }, { headers: AUTH });
  assert.equal(r.json.error.code, 100);
  got.length = 0;
  r = await call(path, { recipient: { id: '1130000000000077' }, message: { text: 'ok' } }, { headers: AUTH });
  assert.equal(r.status, 200);
  // late webhooks of earlier tests may interleave: look for this account's echo
  const igEcho = (g) => g.raw.includes('is_echo') && g.raw.includes(fake.cfg.ig_id);
  await waitFor(() => got.some(igEcho));
  assert.equal(JSON.parse(got.find(igEcho).raw).object, 'instagram');
  await call('/_fake/clock', { advance_seconds: 25 * 3600 });
  r = await call(path, { recipient: { id: '1130000000000077' }, message: { text: 'late' } }, { headers: AUTH });
  assert.equal(r.json.error.error_subcode, 2534022);
  await call('/_fake/reset', {});
});

test('§8.3/8.4 injected errors keyed by code with overridable HTTP status; unknown routes; media', async () => {
  await call('/_fake/wa/inbound', { from: '4915100000001', text: 'x' });
  await call('/_fake/errors', { match: { channel: 'whatsapp' }, error: { code: 130429, http: 429 }, times: 1 });
  const path = `/v25.0/${fake.cfg.phone_number_id}/messages`;
  const msg = { messaging_product: 'whatsapp', to: '+4915100000001', type: 'text', text: { body: 'hi' } };
  let r = await call(path, msg, { headers: AUTH });
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 130429);
  assert.ok(r.json.error.fbtrace_id);
  r = await call(path, msg, { headers: AUTH });
  assert.equal(r.status, 200, 'one-shot injection');
  r = await call('/v25.0/123/nothing', undefined, { method: 'GET', headers: AUTH });
  assert.equal(r.json.error.code, 100);
  r = await call('/xx/123/messages', {}, { headers: AUTH });
  assert.equal(r.json.error.code, 100);
  got.length = 0;
  await call('/_fake/wa/inbound', { from: '4915100000001', type: 'image' });
  // late status webhooks of the earlier send may interleave: pick the inbound message
  const media = got.map((g) => JSON.parse(g.raw).entry?.[0]?.changes?.[0]?.value).find((v) => v?.messages).messages[0].image;
  r = await call(`/v25.0/${media.id}`, undefined, { method: 'GET', headers: AUTH });
  assert.equal(r.status, 200);
  const u = new URL(r.json.url);
  let m = await fetch(u, { headers: AUTH });
  assert.equal(m.status, 200);
  m = await fetch(u);
  assert.equal(m.status, 401);
  await call('/_fake/reset', {});
});
