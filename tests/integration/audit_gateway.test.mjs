// SPDX-License-Identifier: Apache-2.0
//
// The audit log as a running gateway writes it (harness: real `caregate serve`, embedded
// PostgreSQL): staff logins (ok and failed), a patient conversation with a message full of
// health data and identifiers, a staff member opening it. Then, while the gateway runs,
// `caregate audit checkpoint`, `audit verify`, `audit export` and an offline verify of the
// export. The privacy rule is checked on everything the audit tables hold: no e-mail
// address, password, message text, phone number or session token, only ids and counts.
// (The tamper trials are in audit.test.mjs on throwaway clusters: each trial needs a fresh
// log, which a cluster per trial through the harness would make slow.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { startGateway, addStaff, pgQuery, login, loginRaw, wsConnect } from './lib/harness.mjs';

const EMAIL = 'anna.muster@praxis.example';
const PW = 'correct horse battery staple';
const TEXT = 'Ich nehme Ibuprofen 400 wegen Migräne, bitte rufen Sie 0171 2345678 an';
let gw;

before(async () => {
  gw = await startGateway({ config: { staff_email_domains: 'praxis.example', clinic_name: '"Praxis Audit"' } });
});

after(async () => {
  await gw?.cleanup();
});

test('what a running gateway appends verifies, checkpoints while it runs, exports [AUD-4, AUD-5]', async () => {
  const staffId = await addStaff(gw, EMAIL, 'agent', PW, { alias: 'Anna' });
  const bad = await loginRaw(gw, EMAIL, 'wrong password');
  assert.notEqual(bad.status, 200);
  const unknown = await loginRaw(gw, 'someone.else@example.org', PW);
  assert.notEqual(unknown.status, 200);
  const cookie = await login(gw, EMAIL, PW);

  const p = await wsConnect(gw, 'caregate.patient.v1', { path: '/ws/patient' });
  p.send({ type: 'hello', session: null, lang: 'de' });
  const welcome = await p.next('welcome');
  p.send({ type: 'msg', client_id: 'a1', text: TEXT });
  await p.next('ack', 10000);

  const s = await wsConnect(gw, 'caregate.staff.v1', { path: '/ws/staff', cookie });
  s.send({ type: 'open', conversation: welcome.conversation });
  await s.next('history', 10000);
  await s.close();
  await p.close();

  const events = (await pgQuery(gw, 'SELECT event, actor, subject FROM audit_log ORDER BY seq')).rows;
  const names = events.map((e) => e.event);
  for (const e of ['login.failed', 'login.ok', 'conversation.created', 'conversation.opened']) {
    assert.ok(names.includes(e), `no ${e} in ${names.join(', ')}`);
  }
  const opened = events.find((e) => e.event === 'conversation.opened');
  assert.match(opened.actor, new RegExp(staffId));
  assert.match(opened.subject, new RegExp(welcome.conversation));

  // Privacy: nothing but ids, categories and counts anywhere in the audit tables.
  const all = (await pgQuery(gw, `SELECT coalesce(string_agg(concat_ws(' ', event, actor, subject, details), E'\\n'), '') AS t
                                   FROM audit_log`)).rows[0].t;
  for (const secret of [EMAIL, 'someone.else', PW, 'Ibuprofen', 'Migräne', '0171', '2345678', welcome.session]) {
    assert.ok(!all.includes(secret), `audit log contains ${secret}`);
  }

  // CLI against the running gateway's cluster.
  const cp = await gw.cli(['audit', 'checkpoint']);
  assert.equal(cp.code, 0, cp.stderr);
  assert.match(cp.stdout, /audit checkpoint n=1 covers seq \d+/);
  const v = await gw.cli(['audit', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /OK: database: \d+ records, 1 checkpoints/);

  const out = join(gw.stateDir, 'audit-export.jsonl');
  const ex = await gw.cli(['audit', 'export', '--out', out]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const off = await gw.cli(['audit', 'verify', '--file', out, '--pubkey', join(gw.stateDir, 'audit-signing.key.pub')]);
  assert.equal(off.code, 0, off.stdout + off.stderr);
  assert.match(off.stdout, /OK: complete export/);

  // The gateway keeps appending after the CLI's checkpoint; the chain stays valid.
  await loginRaw(gw, EMAIL, 'wrong again');
  const v2 = await gw.cli(['audit', 'verify']);
  assert.equal(v2.code, 0, v2.stdout + v2.stderr);
});

test('keys status sees the data key the patient conversation created', async () => {
  const r = await gw.cli(['keys', 'status']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /v1\s+yes\s+[1-9]\d*\s+\(current\)/);
});

test('a running gateway signs checkpoints on its own timer, and they verify [AUD-3]', async () => {
  const g2 = await startGateway({ config: { audit_checkpoint_seconds: 1 } });
  try {
    const p = await wsConnect(g2, 'caregate.patient.v1', { path: '/ws/patient' });
    p.send({ type: 'hello', session: null, lang: 'en' });
    await p.next('welcome');
    await p.close();
    let rows = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = (await pgQuery(g2, 'SELECT seq FROM audit_checkpoint')).rows;
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(rows.length >= 1, 'no checkpoint written by the running gateway');
    const v = await g2.cli(['audit', 'verify']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    await g2.cleanup();
  }
});

test('every start records the policy and configuration hashes; a changed policy is flagged [AUD-1]', async () => {
  const g = await startGateway({});
  try {
    const q = async () => (await pgQuery(g, "SELECT details FROM audit_log WHERE event = 'config.loaded' ORDER BY seq")).rows.map((r) => JSON.parse(r.details));
    let rows = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await q();
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(rows.length, 1);
    assert.match(rows[0].policy_hash, /^[0-9a-f]{64}$/);
    assert.match(rows[0].config_hash, /^[0-9a-f]{64}$/);
    assert.equal(rows[0].policy_changed, true, 'first start: nothing before it');
    // config.loaded is appended once the database answers, which may be just after ready.
    const atLeast = async (n) => {
      let r = await q();
      for (let i = 0; i < 100 && r.length < n; i++) { await new Promise((res) => setTimeout(res, 100)); r = await q(); }
      return r;
    };
    const same = await g.restart();
    rows = await atLeast(2);
    assert.equal(rows.length, 2);
    assert.equal(rows[1].policy_changed, false);
    assert.equal(rows[1].config_changed, false);
    assert.equal(rows[1].policy_hash, rows[0].policy_hash);
    const changed = await same.restart({ config: { clinic_name: 'Andere Praxis' } });
    rows = await atLeast(3);
    assert.equal(rows.length, 3);
    assert.equal(rows[2].config_changed, true, 'a different configuration is flagged');
    assert.equal(rows[2].policy_changed, false);
    await changed.cleanup();
  } finally {
    await g.cleanup().catch(() => {});
  }
});
