// SPDX-License-Identifier: Apache-2.0
//
// The policy file's "decisions" section (issue 6, docs/policy.md) changes what the real
// gateway does, end to end with the fake Meta platform (tests/fake-meta/server.mjs) and
// staff consoles over the real WebSocket protocol. The policy here is NOT the default:
//   - WhatsApp, staff health data: needs_confirmation. The reply is refused
//     (policy_blocked, "confirm"), nothing reaches the platform; an agent (not in
//     override_roles) cannot confirm; the admin confirms with "override":true and the
//     text goes out with the health data redacted, audited as policy.override /
//     health_to_platform_confirmed;
//   - Messenger: health data blocked with no override; an IBAN is redacted without a
//     question (identifiers: redact);
//   - inbound health data: WhatsApp answers with the secure-chat suggestion at most once
//     per 24 h per conversation (also after a restart); Messenger's suggestion is off;
//   - a policy below the privacy floor stops start-up with the reason, and every start
//     audits the policy version (config.loaded, policy_changed);
//   - SIGHUP reloads the file (audited the same way); a file that does not parse, falls
//     below the floor or changes the time zone is refused and the loaded policy stays.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, addStaff, login, wsConnect, pgQuery, freePort, alwaysOpenPolicy } from './lib/harness.mjs';
import { startFakeMeta } from '../fake-meta/server.mjs';

const PASSWORD = 'decisions-test-password-1';
const ADMIN = 'chefin@demo-clinic.example';
const AGENT = 'team@demo-clinic.example';
const HEALTH = 'Bitte nehmen Sie Ibuprofen 400 mg gegen die Migräne.';
const IBAN = 'Die Erstattung geht an DE89 3704 0044 0532 0130 00, bis bald.';
const DECISIONS = {
  outbound: {
    whatsapp: { health: 'needs_confirmation' },
    messenger: { health: 'block', health_override: false, identifiers: 'redact' },
  },
  inbound: { messenger: { suggest_secure_chat: false } },
  override_roles: ['admin'],
  suggest_secure_chat_every_hours: 24,
  unofficial_contacts: 'block',
  previews: 'redact',
};
let gw, fake, secrets, policyFile, admin, agent;

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

async function connect(email) {
  const cookie = await login(gw, email, PASSWORD);
  const ws = await wsConnect(gw, 'caregate.staff.v1', { path: '/ws/staff', cookie });
  await ws.next('queue');
  return ws;
}

async function rows(sql, params = []) {
  return (await pgQuery(gw, sql, params)).rows;
}

// A patient message over a platform; resolves the conversation id once consoles see it.
async function inbound(path, from, text) {
  const r = await fakeCall(path, { from, text });
  assert.equal(r.status, 200, JSON.stringify(r.attempts));
  const m = await admin.next((x) => x.type === 'msg' && x.from === 'patient' && x.text === text, 10000);
  return m.conversation;
}

before(async () => {
  secrets = mkdtempSync(join(tmpdir(), 'cg-decisions-'));
  policyFile = alwaysOpenPolicy(secrets, { decisions: DECISIONS });
  const port = await freePort();
  fake = await startFakeMeta({ callback_url: `http://127.0.0.1:${port}/webhooks/meta`, retry_schedule_ms: [500, 1500, 3000] });
  gw = await startGateway({
    port,
    config: {
      policy_file: policyFile,
      meta_graph_base_url: fake.url,
      meta_graph_version: 'v25.0',
      meta_verify_token_file: secretFile('verify-token', 'fake-verify-token'),
      meta_send_timeout_ms: 3000,
      meta_recipient_burst: 10,
      log_level: 'info',
    },
  });
  const app = secretFile('app-secret', 'fake-app-secret');
  const tok = secretFile('token', 'EAAG-valid-token');
  const add = async (args) => {
    const r = await gw.cli(['channel', 'add', ...args, '--app-secret-file', app, '--token-file', tok]);
    assert.equal(r.code, 0, r.stderr);
  };
  await add(['whatsapp', '--account-id', fake.cfg.waba_id, '--phone-number-id', fake.cfg.phone_number_id]);
  await add(['messenger', '--account-id', fake.cfg.page_id]);
  await gw.waitForLog(/2 channel\(s\) active/, 10000);
  await addStaff(gw, ADMIN, 'admin', PASSWORD, { alias: 'Chefin' });
  await addStaff(gw, AGENT, 'agent', PASSWORD, { alias: 'Team' });
  admin = await connect(ADMIN);
  agent = await connect(AGENT);
});

after(async () => {
  admin?.close();
  agent?.close();
  await gw?.cleanup();
  await fake?.close();
  rmSync(secrets, { recursive: true, force: true });
});

test('WhatsApp needs_confirmation: held until the admin confirms, then sent redacted and audited', async () => {
  const conv = await inbound('/_fake/wa/inbound', '4915170000001', 'Hallo, ich habe eine Frage');
  // not confirmed: refused with the reason, nothing reaches the platform
  admin.send({ type: 'reply', conversation: conv, client_id: 'nc-1', text: HEALTH });
  const e1 = await admin.next((m) => m.type === 'error' && m.client_id === 'nc-1', 10000);
  assert.equal(e1.code, 'policy_blocked');
  assert.equal(e1.action, 'needs_confirmation');
  assert.equal(e1.override_allowed, true, 'the console may offer the confirm button');
  assert.equal(e1.override_redacts, true, 'confirming sends the health data redacted');
  assert.match(e1.message, /confirm with "override":true/);
  assert.deepEqual(e1.findings.map((f) => f.category).sort(), ['CONDITION', 'MEDICATION']);
  // an agent is not in override_roles: confirming does not help
  agent.send({ type: 'reply', conversation: conv, client_id: 'nc-2', text: HEALTH, override: true });
  const e2 = await agent.next((m) => m.type === 'error' && m.client_id === 'nc-2', 10000);
  assert.equal(e2.code, 'policy_blocked');
  assert.match(e2.message, /your role cannot confirm/);
  assert.equal(e2.override_allowed, false);
  const held = await rows("SELECT details FROM audit_log WHERE event = 'policy.blocked' AND subject = $1 ORDER BY seq", [conv]);
  assert.equal(held.length, 2);
  for (const h of held) {
    const d = JSON.parse(h.details);
    assert.equal(d.action, 'needs_confirmation');
    assert.equal(d.reason, 'health_to_platform');
    assert.equal(d.channel, 'whatsapp');
    assert.ok(!h.details.includes('Ibuprofen') && !h.details.includes('Migräne'));
  }
  await sleep(500);
  assert.ok(!(await fakeCall('/_fake/sent?channel=whatsapp')).some((s) => JSON.stringify(s.body).includes('Ibuprofen')));
  // the admin confirms: the health data goes out redacted
  admin.send({ type: 'reply', conversation: conv, client_id: 'nc-3', text: HEALTH, override: true });
  const ack = await admin.next((m) => m.type === 'ack' && m.client_id === 'nc-3', 10000);
  const sent = await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).find((s) => s.body.to === '+4915170000001' && s.status === 200), 15000, 'confirmed send');
  assert.equal(sent.body.text.body, 'Bitte nehmen Sie [MEDICATION] gegen die [CONDITION].');
  // decisions written with the message name the message as their subject
  const ov = await rows("SELECT actor, details FROM audit_log WHERE event = 'policy.override' AND subject = $1", [ack.id]);
  assert.equal(ov.length, 1);
  const d = JSON.parse(ov[0].details);
  assert.equal(d.action, 'redact');
  assert.equal(d.reason, 'health_to_platform_confirmed');
  assert.deepEqual(d.categories, { CONDITION: 1, MEDICATION: 1 });
  assert.ok(!ov[0].details.includes('Ibuprofen'));
  // an IBAN (identifiers: needs_confirmation by default) is confirmed, not redacted
  admin.send({ type: 'reply', conversation: conv, client_id: 'nc-4', text: IBAN });
  const e4 = await admin.next((m) => m.type === 'error' && m.client_id === 'nc-4', 10000);
  assert.equal(e4.action, 'needs_confirmation');
  assert.equal(e4.override_allowed, true);
  assert.equal(e4.override_redacts, false, 'confirming sends the IBAN as written');
});

test('Messenger: health data blocked with no override; an IBAN is redacted without a question', async () => {
  const conv = await inbound('/_fake/fb/inbound', '6200000000000101', 'Guten Tag');
  admin.send({ type: 'reply', conversation: conv, client_id: 'fb-1', text: HEALTH, override: true });
  const e = await admin.next((m) => m.type === 'error' && m.client_id === 'fb-1', 10000);
  assert.equal(e.code, 'policy_blocked');
  assert.equal(e.action, 'block');
  assert.doesNotMatch(e.message, /override/, 'no override offered when the policy has none');
  assert.equal(e.override_allowed, false);
  assert.equal(e.override_redacts, undefined, 'no override, so nothing to describe');
  const bl = JSON.parse((await rows("SELECT details FROM audit_log WHERE event = 'policy.blocked' AND subject = $1", [conv]))[0].details);
  assert.equal(bl.action, 'block');
  assert.equal(bl.reason, 'health_to_platform');
  agent.send({ type: 'reply', conversation: conv, client_id: 'fb-2', text: IBAN });
  const ack = await agent.next((m) => m.type === 'ack' && m.client_id === 'fb-2', 10000);
  const sent = await waitFor(async () => (await fakeCall('/_fake/sent?channel=messenger')).find((s) => s.body.recipient?.id === '6200000000000101' && s.status === 200), 15000, 'messenger send');
  assert.equal(sent.body.message.text, 'Die Erstattung geht an [IBAN], bis bald.');
  const dec = (await rows("SELECT details FROM audit_log WHERE event = 'policy.decision' AND subject = $1", [ack.id])).map((r) => JSON.parse(r.details));
  assert.equal(dec.length, 1);
  assert.equal(dec[0].action, 'redact');
  assert.equal(dec[0].reason, 'identifier_to_platform_redacted');
  assert.deepEqual(dec[0].categories, { IBAN: 1 });
});

test('health data in Polish or Hungarian is blocked like German: the text picks the lists, not the conversation default', async () => {
  // platform conversations are created with the default language "de"; before langid a
  // Polish or Hungarian reply was scanned with the German lists and went out
  const conv = await inbound('/_fake/fb/inbound', '6200000000000103', 'Dzień dobry, mam pytanie');
  const texts = {
    'pl-1': 'Dzień dobry, przy cukrzycy i bólu brzucha proszę przyjść jutro.',
    'hu-1': 'Jó napot, a cukorbetegsége miatt kérem, jöjjön be holnap reggel.',
  };
  for (const [id, text] of Object.entries(texts)) {
    agent.send({ type: 'reply', conversation: conv, client_id: id, text });
    const e = await agent.next((m) => m.type === 'error' && m.client_id === id, 10000);
    assert.equal(e.code, 'policy_blocked', id);
    assert.equal(e.action, 'block', id);
  }
  const bl = (await rows("SELECT details FROM audit_log WHERE event = 'policy.blocked' AND subject = $1", [conv])).map((r) => JSON.parse(r.details));
  assert.equal(bl.length, 2);
  for (const d of bl) assert.equal(d.reason, 'health_to_platform');
  const sent = (await fakeCall('/_fake/sent?channel=messenger')).filter((s) => s.body.recipient?.id === '6200000000000103');
  assert.equal(sent.length, 0, 'nothing reached Messenger');
});

async function suggestions(conv) {
  return rows("SELECT id FROM message WHERE conversation_id = $1 AND sender = 'system' AND client_id LIKE 'meta-secure:%'", [conv]);
}

test('inbound health data: one secure-chat suggestion per 24 h on WhatsApp, also after a restart; none on Messenger', async () => {
  const from = '4915170000002';
  const conv = await inbound('/_fake/wa/inbound', from, 'Ich nehme Ibuprofen 400 mg, ist das ok?');
  const sys = await admin.next((m) => m.type === 'msg' && m.from === 'system' && m.conversation === conv, 10000);
  assert.match(sys.text, /sicheren Chat/);
  const out = await waitFor(async () => (await fakeCall('/_fake/sent?channel=whatsapp')).find((s) => s.body.to === `+${from}` && s.status === 200), 15000, 'suggestion sent');
  assert.equal(out.body.text.body, sys.text);
  // more health data in the same conversation: no second suggestion
  await inbound('/_fake/wa/inbound', from, 'Und gegen die Migräne?');
  await inbound('/_fake/wa/inbound', from, 'Außerdem habe ich Diabetes.');
  await sleep(800);
  assert.equal((await suggestions(conv)).length, 1);
  // each inbound decision record says whether the suggestion went out
  const said = (await rows("SELECT a.details FROM audit_log a JOIN message m ON a.subject = m.id::text WHERE a.event = 'policy.decision' AND m.conversation_id = $1 AND m.sender = 'patient' ORDER BY a.seq", [conv])).map((r) => JSON.parse(r.details).secure_chat_suggested);
  assert.deepEqual(said, [true, false, false]);
  // the clock survives a restart (it is read back from the stored suggestion)
  admin.close();
  agent.close();
  gw = await gw.restart();
  admin = await connect(ADMIN);
  agent = await connect(AGENT);
  await inbound('/_fake/wa/inbound', from, 'Noch einmal wegen Ibuprofen');
  await sleep(800);
  assert.equal((await suggestions(conv)).length, 1);
  // a message without health data never asks for one; another conversation gets its own
  const conv2 = await inbound('/_fake/wa/inbound', '4915170000003', 'Termin am Montag?');
  await sleep(500);
  assert.equal((await suggestions(conv2)).length, 0);
  await inbound('/_fake/wa/inbound', '4915170000003', 'Wegen meiner Migräne');
  await waitFor(async () => (await suggestions(conv2)).length === 1, 10000, 'suggestion in conv2');
  // Messenger: suggest_secure_chat false
  const fb = await inbound('/_fake/fb/inbound', '6200000000000102', 'Ich nehme Ibuprofen 400 mg');
  await sleep(800);
  assert.equal((await suggestions(fb)).length, 0);
  const d = JSON.parse((await rows("SELECT details FROM audit_log WHERE event = 'policy.decision' AND subject IN (SELECT id::text FROM message WHERE conversation_id = $1 AND sender = 'patient')", [fb]))[0].details);
  assert.equal(d.reason, 'health_from_platform');
});

test('a policy below the privacy floor stops start-up with the reason; each start audits the policy version', async () => {
  const loaded = async () => (await rows("SELECT details FROM audit_log WHERE event = 'config.loaded' ORDER BY seq")).map((r) => JSON.parse(r.details));
  const before = await loaded();
  assert.ok(before.length >= 2); // first start and the restart above
  assert.equal(before[before.length - 1].policy_changed, false);
  const bad = join(secrets, 'policy-bad.json');
  writeFileSync(bad, JSON.stringify({ decisions: { outbound: { whatsapp: { health: 'allow' } } } }));
  admin.close();
  agent.close();
  await assert.rejects(gw.restart({ config: { policy_file: bad } }), /decisions\.outbound\.whatsapp\.health: "allow" would send health data unredacted to a third-party platform \(privacy floor/);
  writeFileSync(bad, JSON.stringify({ decisions: { previews: 'plain' } }));
  await assert.rejects(gw.restart({ config: { policy_file: bad } }), /decisions\.previews: only "redact" is allowed: previews are always redacted/);
  // a changed (valid) policy: the next start records a new version, flagged as changed
  const changed = alwaysOpenPolicy(join(secrets), { decisions: { ...DECISIONS, suggest_secure_chat_every_hours: 48 } });
  gw = await gw.restart({ config: { policy_file: changed } });
  // config.loaded is queued at start and may commit just after /readyz answers
  const after = await waitFor(async () => { const a = await loaded(); return a.length > before.length && a; }, 10000, 'config.loaded');
  assert.equal(after.length, before.length + 1, 'the refused starts wrote no config.loaded');
  const last = after[after.length - 1];
  assert.equal(last.policy_changed, true);
  assert.notEqual(last.policy_hash, before[before.length - 1].policy_hash);
  assert.match(last.policy_hash, /^[0-9a-f]{64}$/);
  admin = await connect(ADMIN);
  agent = await connect(AGENT);
});

test('SIGHUP reloads the policy: a Messenger health reply now needs confirmation; a file that changes the time zone is refused; the reload is audited', async () => {
  const loaded = async () => (await rows("SELECT details FROM audit_log WHERE event = 'config.loaded' ORDER BY seq")).map((r) => JSON.parse(r.details));
  const n0 = (await loaded()).length;
  const conv = await inbound('/_fake/fb/inbound', '6200000000000103', 'Hallo nochmal');
  admin.send({ type: 'reply', conversation: conv, client_id: 'hup-1', text: HEALTH });
  const e1 = await admin.next((m) => m.type === 'error' && m.client_id === 'hup-1', 10000);
  assert.equal(e1.action, 'block');
  assert.equal(e1.override_allowed, false);
  // the same file, now with Messenger's health decision relaxed to needs_confirmation
  const file = alwaysOpenPolicy(secrets, { decisions: { ...DECISIONS, outbound: { ...DECISIONS.outbound, messenger: { health: 'needs_confirmation' } } } });
  assert.equal(file, join(secrets, 'policy-always-open.json'), 'the file the running gateway was started with');
  gw.proc.kill('SIGHUP');
  await gw.waitForLog(/policy .*\([0-9a-f]{12}\) reloaded/, 10000);
  admin.send({ type: 'reply', conversation: conv, client_id: 'hup-2', text: HEALTH });
  const e2 = await admin.next((m) => m.type === 'error' && m.client_id === 'hup-2', 10000);
  assert.equal(e2.action, 'needs_confirmation');
  assert.equal(e2.override_allowed, true);
  const a1 = await waitFor(async () => { const a = await loaded(); return a.length > n0 && a; }, 10000, 'config.loaded after SIGHUP');
  assert.equal(a1.length, n0 + 1);
  assert.equal(a1[a1.length - 1].policy_changed, true);
  // a file that moves the time zone is refused as a whole: the loaded policy stays
  writeFileSync(file, JSON.stringify({ timezone: 'America/New_York', decisions: DECISIONS }));
  gw.proc.kill('SIGHUP');
  await gw.waitForLog(/policy reload refused, keeping the loaded one: policy_file: the time zone changed \(Europe\/Berlin to America\/New_York\)/, 10000);
  admin.send({ type: 'reply', conversation: conv, client_id: 'hup-3', text: HEALTH });
  const e3 = await admin.next((m) => m.type === 'error' && m.client_id === 'hup-3', 10000);
  assert.equal(e3.action, 'needs_confirmation');
  // and a file below the privacy floor as well, with the floor's reason in the log
  writeFileSync(file, JSON.stringify({ decisions: { outbound: { messenger: { health: 'allow' } } } }));
  gw.proc.kill('SIGHUP');
  await gw.waitForLog(/policy reload refused, keeping the loaded one: .*privacy floor/, 10000);
  await sleep(300);
  assert.equal((await loaded()).length, n0 + 1, 'refused reloads are not audited as loaded');
  assert.doesNotMatch(gw.logs(), /Hallo nochmal|Migräne/, 'no message text in the log');
});

test('the gateway stops cleanly without a sanitizer report', async () => {
  admin.close();
  agent.close();
  admin = agent = null;
  const { code } = await gw.stop();
  assert.equal(code, 0, gw.logs().slice(-2000));
  assert.doesNotMatch(gw.logs(), /AddressSanitizer|LeakSanitizer|runtime error/);
});
