// SPDX-License-Identifier: Apache-2.0
//
// Meta bridges end to end (issue 8): the real caregate binary with its embedded
// PostgreSQL, the fake Meta platform (tests/fake-meta/server.mjs) on loopback, and a
// staff console over the real WebSocket protocol.
//   - WhatsApp, Messenger and Instagram: a patient message reaches the console queue and
//     the staff reply reaches the fake as a correct Send API request; delivery statuses
//     move message.delivery forward;
//   - forged (bad / missing / SHA-1-only signature), replayed, oversized and
//     unknown-account webhooks are rejected and store nothing;
//   - the verification handshake;
//   - the WhatsApp 24-hour window and the Messenger window (HUMAN_AGENT off) give
//     window_closed, the WhatsApp re-engagement template still goes out; media get the
//     automatic "use the secure web chat" text;
//   - the outbox survives a gateway crash during an ambiguous send without losing or
//     doubling it, and a send refused with a token error stops the channel.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, addStaff, login, wsConnect, pgQuery, freePort } from './lib/harness.mjs';
import { startFakeMeta } from '../fake-meta/server.mjs';

const EMAIL = 'bridges@demo-clinic.example';
const PASSWORD = 'bridges-test-password-1';
let gw, fake, secrets, staff, channels = {};

async function waitFor(fn, ms = 10000, what = 'condition') {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function secretFile(name, content) {
  const p = join(secrets, name);
  writeFileSync(p, content + '\n');
  chmodSync(p, 0o600);
  return p;
}

async function fakeCall(path, body) {
  const r = await fetch(fake.url + path, { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return r.json();
}

async function count(sql, params = []) {
  return Number((await pgQuery(gw, sql, params)).rows[0].n);
}

async function connectStaff() {
  const cookie = await login(gw, EMAIL, PASSWORD);
  const ws = await wsConnect(gw, 'caregate.staff.v1', { path: '/ws/staff', cookie });
  await ws.next('queue');
  return ws;
}

before(async () => {
  secrets = mkdtempSync(join(tmpdir(), 'cg-bridges-'));
  const port = await freePort();
  fake = await startFakeMeta({
    callback_url: `http://127.0.0.1:${port}/webhooks/meta`,
    retry_schedule_ms: [500, 1500, 3000, 5000, 8000, 12000, 20000],
  });
  const verify = secretFile('verify-token', 'fake-verify-token');
  gw = await startGateway({
    port,
    config: {
      meta_graph_base_url: fake.url,
      meta_graph_version: 'v25.0',
      meta_verify_token_file: verify,
      meta_send_timeout_ms: 3000,
      meta_uncertain_wait_s: 120,
      meta_recipient_burst: 10,
      meta_wa_template: 'new_reply',
      meta_wa_template_lang: 'de',
      log_level: 'info',
    },
  });
  const app = secretFile('app-secret', 'fake-app-secret');
  const tok = secretFile('token', 'EAAG-valid-token');
  const add = async (args) => {
    const r = await gw.cli(['channel', 'add', ...args, '--app-secret-file', app, '--token-file', tok]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  channels.whatsapp = await add(['whatsapp', '--account-id', fake.cfg.waba_id, '--phone-number-id', fake.cfg.phone_number_id]);
  channels.messenger = await add(['messenger', '--account-id', fake.cfg.page_id]);
  channels.instagram = await add(['instagram', '--account-id', fake.cfg.ig_id]);
  await gw.waitForLog(/3 channel\(s\) active/, 10000);
  await addStaff(gw, EMAIL, 'agent', PASSWORD, { alias: 'Team' });
  staff = await connectStaff();
});

after(async () => {
  staff?.close();
  await gw?.cleanup();
  await fake?.close();
  rmSync(secrets, { recursive: true, force: true });
});

test('channel CLI: list shows the three business accounts; personal/invalid ids refused', async () => {
  const r = await gw.cli(['channel', 'list']);
  assert.equal(r.code, 0);
  for (const id of Object.values(channels)) assert.ok(r.stdout.includes(id));
  const bad = await gw.cli(['channel', 'add', 'whatsapp', '--account-id', 'me', '--phone-number-id', '1', '--app-secret-file', '/x', '--token-file', '/y']);
  assert.equal(bad.code, 2);
  const dup = await gw.cli(['channel', 'add', 'messenger', '--account-id', fake.cfg.page_id, '--app-secret-file', join(secrets, 'app-secret'), '--token-file', join(secrets, 'token')]);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /already registered/);
});

test('§1 verification handshake through the gateway', async () => {
  const r = await fakeCall('/_fake/verify', {});
  assert.equal(r.pass, true, JSON.stringify(r));
});

async function roundTrip(channel, inboundPath, inbound, checkSend) {
  const text = inbound.text;
  const r = await fakeCall(inboundPath, inbound);
  assert.equal(r.status, 200, JSON.stringify(r.attempts));
  const msg = await staff.next((m) => m.type === 'msg' && m.from === 'patient' && m.text === text, 10000);
  const conv = msg.conversation;
  const row = (await pgQuery(gw, 'SELECT channel FROM conversation WHERE id = $1', [conv])).rows[0];
  assert.equal(row.channel, channel);
  const reply = `Antwort ${channel} ¿ok? 1/2 👍`;
  staff.send({ type: 'reply', conversation: conv, client_id: `r-${channel}`, text: reply });
  const ack = await staff.next((m) => m.type === 'ack' && m.client_id === `r-${channel}`, 10000);
  const sent = await waitFor(async () => (await fakeCall(`/_fake/sent?channel=${channel}`)).find((s) => JSON.stringify(s.body).includes('Antwort') && s.status === 200), 15000, `${channel} send`);
  checkSend(sent, reply);
  assert.equal(sent.authorization, 'Bearer REDACTED');
  assert.match(sent.content_type, /application\/json/);
  // delivery states move forward from the platform's webhooks
  await waitFor(async () => {
    const d = (await pgQuery(gw, 'SELECT delivery FROM message WHERE id = $1', [ack.id])).rows[0]?.delivery;
    return d === 'read';
  }, 15000, `${channel} read receipt`);
  return conv;
}

test('WhatsApp: patient message reaches the console; staff reply is a correct Send API request', async () => {
  const from = '4915111111111';
  await roundTrip('whatsapp', '/_fake/wa/inbound', { from, text: 'Hola ¿puedo cambiar mi cita? a@b 1/2', name: 'Ana Pérez' }, (s, reply) => {
    assert.equal(s.path, `/v25.0/${fake.cfg.phone_number_id}/messages`);
    assert.equal(s.body.messaging_product, 'whatsapp');
    assert.equal(s.body.to, `+${from}`);
    assert.equal(s.body.type, 'text');
    assert.equal(s.body.text.body, reply);
    assert.equal(s.body.text.preview_url, false);
    assert.match(s.body.biz_opaque_callback_data, /^[0-9a-f-]{36}$/);
  });
  // the policy layer saw it as WhatsApp inbound traffic (decision audited with the commit)
  const dec = await count("SELECT count(*) n FROM audit_log WHERE event = 'policy.decision' AND details::jsonb->>'channel' = 'whatsapp' AND details::jsonb->>'direction' = 'inbound'");
  assert.ok(dec >= 1);
  // no plain platform id or name anywhere in the bridge tables
  const dump = JSON.stringify((await pgQuery(gw, "SELECT c.*, bc.*, encode(c.platform_hash, 'hex') h FROM contact c JOIN bridge_conversation bc ON bc.contact_id = c.id")).rows);
  assert.ok(!dump.includes(from) && !dump.includes('Pérez'));
});

test('Messenger: round trip with messaging_type RESPONSE and correlation metadata', async () => {
  await roundTrip('messenger', '/_fake/fb/inbound', { from: '6200000000000011', text: 'Buenas tardes, ¿tienen cita?' }, (s, reply) => {
    assert.equal(s.path, `/v25.0/${fake.cfg.page_id}/messages`);
    assert.equal(s.body.recipient.id, '6200000000000011');
    assert.equal(s.body.messaging_type, 'RESPONSE');
    assert.equal(s.body.message.text, reply);
    assert.match(s.body.message.metadata, /^[0-9a-f-]{36}$/);
  });
});

test('Instagram: round trip', async () => {
  await roundTrip('instagram', '/_fake/ig/inbound', { from: '1130000000000021', text: 'Hola, vi su publicación' }, (s, reply) => {
    assert.equal(s.body.recipient.id, '1130000000000021');
    assert.equal(s.body.message.text, reply);
  });
});

test('forged, replayed, oversized and unknown-account webhooks are rejected and store nothing', async () => {
  const before = await count('SELECT count(*) n FROM message');
  const convs = await count('SELECT count(*) n FROM conversation');
  for (const faults of [{ bad_signature: true }, { no_signature: true }, { sha1_only: true }]) {
    const r = await fakeCall('/_fake/wa/inbound', { from: '4915199999999', text: 'forged', faults: { ...faults, no_retry: true } });
    assert.equal(r.status, 401, JSON.stringify(faults));
  }
  // replay: the exact bytes of an earlier genuine delivery, re-signed identically
  const genuine = fake.state.deliveries.find((d) => d.text && d.text.includes('cambiar mi cita'));
  assert.ok(genuine);
  const rep = await fake.deliver('whatsapp_business_account', null, { raw: genuine.text, no_retry: true });
  assert.equal(rep.attempts[0].status, 200);
  // oversized (> 4 MiB), validly signed
  const big = JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(4 * 1024 * 1024 + 10) });
  const over = await fake.deliver('whatsapp_business_account', null, { raw: big, no_retry: true });
  assert.equal(over.attempts[0].status, 413);
  // an account that is not registered (validly signed by the same app)
  const unk = await fakeCall('/_fake/wa/inbound', { from: '4915188888888', text: 'unknown', account_override: '999999999999999', faults: { no_retry: true } });
  assert.equal(unk.status, 200);
  const unkFb = await fakeCall('/_fake/fb/inbound', { from: '6200000000000777', text: 'unknown page', account_override: '888888888888', faults: { no_retry: true } });
  assert.equal(unkFb.status, 200);
  await sleep(300);
  assert.equal(await count('SELECT count(*) n FROM message'), before);
  assert.equal(await count('SELECT count(*) n FROM conversation'), convs);
  assert.match(gw.logs(), /event\(s\) for unregistered accounts rejected/);
  const unkAudit = (await pgQuery(gw, "SELECT actor, subject, details FROM audit_log WHERE event = 'meta.webhook.unknown_account'")).rows;
  assert.ok(unkAudit.length >= 2);
  assert.ok(unkAudit.every((a) => a.actor === 'gateway' && !a.details.includes('999999999999999') && !a.details.includes('888888888888')));
  // nothing of the payload in the logs
  assert.ok(!gw.logs().includes('forged') && !gw.logs().includes('4915111111111'));
});

test('duplicates and batches: every entry/change/message once', async () => {
  const before = await count('SELECT count(*) n FROM message');
  const r = await fakeCall('/_fake/wa/inbound', { from: '4915122222222', text: 'batch', batch: 6, entries: 3, changes: 2, faults: { duplicate: true } });
  assert.equal(r.status, 200);
  await waitFor(async () => (await count('SELECT count(*) n FROM message')) === before + 6, 5000, '6 messages');
  await sleep(300);
  assert.equal(await count('SELECT count(*) n FROM message'), before + 6);
});

test('WhatsApp 24-hour window: reply outside it is refused with window_closed', async () => {
  const r = await fakeCall('/_fake/wa/inbound', { from: '4915133333333', text: 'alt', ts_ms: Date.now() - 25 * 3600 * 1000 });
  assert.equal(r.status, 200);
  const msg = await staff.next((m) => m.type === 'msg' && m.text === 'alt', 10000);
  const conv = await staff.next((m) => m.type === 'conversation' && m.id === msg.conversation && m.bridge, 10000);
  assert.equal(conv.bridge.platform, 'whatsapp');
  assert.equal(conv.bridge.window, 'template_only');
  assert.equal(conv.bridge.window_remaining_s, 0);
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'late-1', text: 'zu spät' });
  const err = await staff.next((m) => m.type === 'error' && m.client_id === 'late-1', 5000);
  assert.equal(err.code, 'window_closed');
  // the approved template without health data is the only way in
  staff.send({ type: 'reengage', conversation: msg.conversation, client_id: 'tmpl-1' });
  await staff.next((m) => m.type === 'ack' && m.client_id === 'tmpl-1', 15000);
  const t = await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).find((x) => x.body.to === '+4915133333333' && x.body.type === 'template'), 10000, 'template send');
  assert.equal(t.status, 200);
  assert.deepEqual(t.body.template, { name: 'new_reply', language: { code: 'de' } });
  // a fresh message opens it again; the console sees the remaining time
  await fakeCall('/_fake/wa/inbound', { from: '4915133333333', text: 'neu' });
  await staff.next((m) => m.type === 'msg' && m.text === 'neu', 10000);
  const c2 = await waitFor(async () => (await pgQuery(gw, 'SELECT bridge_window($1) w', [msg.conversation])).rows[0].w, 5000);
  assert.equal(c2.window, 'open');
  assert.ok(c2.window_remaining_s > 23 * 3600);
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'late-2', text: 'jetzt geht es' });
  await staff.next((m) => m.type === 'ack' && m.client_id === 'late-2', 15000);
});

test('Messenger window without HUMAN_AGENT: closed after 24 h', async () => {
  await fakeCall('/_fake/fb/inbound', { from: '6200000000000022', text: 'fb alt', ts_ms: Date.now() - 25 * 3600 * 1000 });
  const msg = await staff.next((m) => m.type === 'msg' && m.text === 'fb alt', 10000);
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'fb-late', text: 'x' });
  const err = await staff.next((m) => m.type === 'error' && m.client_id === 'fb-late', 5000);
  assert.equal(err.code, 'window_closed');
});

test('media are not downloaded: the patient gets the secure web chat text', async () => {
  const r = await fakeCall('/_fake/wa/inbound', { from: '4915144444444', type: 'image', caption: 'Befund' });
  assert.equal(r.status, 200);
  const m = await staff.next((x) => x.type === 'msg' && x.from === 'patient' && x.text === '[image]', 10000);
  const sys = await staff.next((x) => x.type === 'msg' && x.from === 'system' && x.conversation === m.conversation, 10000);
  const sent = await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).find((s) => s.body.to === '+4915144444444'), 10000, 'auto text');
  assert.equal(sent.body.text.body, sys.text);
  assert.ok(sys.text.length > 10);
});

test('outbox survives a crash during an ambiguous send: sent exactly once', async () => {
  await fakeCall('/_fake/wa/inbound', { from: '4915155555555', text: 'crash test' });
  const msg = await staff.next((m) => m.type === 'msg' && m.text === 'crash test', 10000);
  await fakeCall('/_fake/errors', { match: { channel: 'whatsapp', to: '4915155555555' }, hang: true, times: 1 });
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'crash-1', text: 'nach dem Absturz' });
  const ack = await staff.next((m) => m.type === 'ack' && m.client_id === 'crash-1', 15000);
  await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).some((s) => s.hung), 10000, 'hung send');
  staff.close();
  await gw.kill9();
  gw = await gw.restart();
  staff = await connectStaff();
  // the status webhook (with our correlation id) is redelivered after the restart
  await waitFor(async () => {
    const r = (await pgQuery(gw, "SELECT o.state, m.delivery FROM outbox o JOIN message m ON m.id = o.message_id WHERE o.message_id = $1", [ack.id])).rows[0];
    return r && r.state === 'sent' && ['sent', 'delivered', 'read'].includes(r.delivery);
  }, 40000, 'adoption of the uncertain send');
  await sleep(1500);
  const sends = (await fakeCall('/_fake/sent?channel=whatsapp')).filter((s) => s.body.to === '+4915155555555' && s.body.text?.body === 'nach dem Absturz');
  assert.equal(sends.length, 1, 'sent exactly once');
});

test('outbox: queued sends survive a restart; retries by error code', async () => {
  await fakeCall('/_fake/wa/inbound', { from: '4915166666666', text: 'retry test' });
  const msg = await staff.next((m) => m.type === 'msg' && m.text === 'retry test', 10000);
  // 131000 (unknown error) twice: retried with backoff, then accepted
  await fakeCall('/_fake/errors', { match: { channel: 'whatsapp', to: '4915166666666' }, error: { code: 131000 }, times: 2 });
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'retry-1', text: 'bitte erneut' });
  const ack = await staff.next((m) => m.type === 'ack' && m.client_id === 'retry-1', 15000);
  await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).filter((s) => s.body.to === '+4915166666666').length >= 1, 10000, 'first attempt');
  staff.close();
  await gw.stop();
  gw = await gw.restart();
  staff = await connectStaff();
  await waitFor(async () => (await pgQuery(gw, 'SELECT state FROM outbox WHERE message_id = $1', [ack.id])).rows[0]?.state === 'sent', 40000, 'sent after restart');
  const sends = (await fakeCall('/_fake/sent?channel=whatsapp')).filter((s) => s.body.to === '+4915166666666');
  assert.equal(sends.filter((s) => s.status === 200).length, 1);
  assert.equal(sends.length, 3);
});

test('token error (190): channel stopped, visible to consoles, no retry storm', async () => {
  await fakeCall('/_fake/fb/inbound', { from: '6200000000000033', text: 'token test' });
  const msg = await staff.next((m) => m.type === 'msg' && m.text === 'token test', 10000);
  await fakeCall('/_fake/errors', { match: { channel: 'messenger' }, error: { code: 190, error_subcode: 463 }, times: -1 });
  staff.send({ type: 'reply', conversation: msg.conversation, client_id: 'tok-1', text: 'token' });
  await staff.next((m) => m.type === 'ack' && m.client_id === 'tok-1', 15000);
  const conv = await staff.next((m) => m.type === 'conversation' && m.id === msg.conversation && m.bridge?.channel_state === 'auth_failed', 10000);
  assert.equal(conv.bridge.channel_state, 'auth_failed');
  const st = (await pgQuery(gw, 'SELECT state, state_reason FROM channel WHERE id = $1', [channels.messenger])).rows[0];
  assert.deepEqual(st, { state: 'auth_failed', state_reason: 'auth:190' });
  const au = (await pgQuery(gw, "SELECT actor, subject, details FROM audit_log WHERE event = 'channel.auth_failed'")).rows;
  assert.equal(au.length, 1);
  assert.equal(au[0].subject, `channel:${channels.messenger}`);
  assert.deepEqual(JSON.parse(au[0].details), { class: 'auth', code: 190 });
  await sleep(2500);
  const tries = (await fakeCall('/_fake/sent?channel=messenger')).filter((s) => s.body.message?.text === 'token');
  assert.equal(tries.length, 1, 'no retries while the channel is stopped');
  // the admin fixes the token and resumes: the queued message goes out
  await fakeCall('/_fake/reset', {});
  await fakeCall('/_fake/fb/inbound', { from: '6200000000000033', text: 'token test 2' });
  const r = await gw.cli(['channel', 'resume', channels.messenger]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await fakeCall('/_fake/sent?channel=messenger')).some((s) => s.body.message?.text === 'token' && s.status === 200), 10000, 'send after resume');
});

test('audit records of the bridges hold ids, classes and counts only', async () => {
  const rows = (await pgQuery(gw, "SELECT event, actor, subject, details FROM audit_log WHERE event LIKE 'channel.%' OR event LIKE 'meta.%' OR event = 'conversation.created'")).rows;
  assert.ok(rows.some((r) => r.event === 'channel.added'));
  assert.ok(rows.some((r) => r.event === 'channel.resumed'));
  const all = JSON.stringify(rows);
  // The patients' WhatsApp numbers (4915… with 13 digits): matched whole, because a bare '4915'
  // turns up by chance in the hex of conversation ids now and then.
  assert.ok(!/4915\d{9}/.test(all), `audit mentions a patient's number: ${all}`);
  for (const secret of [fake.cfg.waba_id, fake.cfg.phone_number_id, fake.cfg.page_id, fake.cfg.ig_id, '6200000000000011', '1130000000000021', 'Pérez'])
    assert.ok(!all.includes(secret), `audit mentions ${secret}: ${all}`);
  const v = await gw.cli(['audit', 'verify']);
  assert.equal(v.code, 0, v.stderr + v.stdout);
});
