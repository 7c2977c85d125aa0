// SPDX-License-Identifier: Apache-2.0
// Patients' rights (issue 5) against the real binary: erasure requested from the widget
// ({"type":"erase_request"}) and by an admin/DPO on the command line, refused under legal
// hold; export (Art. 15) as JSON plus escaped HTML; and the role rule: erasure, export
// and legal hold are refused to agents and to unknown or disabled accounts (--as).
// Requirement ids: ERA-1 erasure, EXP-1/EXP-2 export, ROLE-1 roles.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { stopClean } from './lib/rights_helpers.mjs';
import { F, setup, teardown, converse, exportOf, texts, addStaffRow, auditEvents, waitFor }
  from './lib/rights_helpers.mjs';

const env = setup();
after(() => teardown(env));
let gw;
const count = (sql) => Number(env.cluster.psql(sql));
const contactOf = (conv) => env.cluster.psql(`SELECT contact_id FROM conversation WHERE id = '${conv}'`);

test('start the gateway and staff accounts', async () => {
  gw = await F.startGateway(env.config);
  addStaffRow(env.cluster, 'agent@demo-clinic.example', 'agent');
  addStaffRow(env.cluster, 'admin@demo-clinic.example', 'admin');
  addStaffRow(env.cluster, 'dpo@demo-clinic.example', 'dpo');
  addStaffRow(env.cluster, 'gone@demo-clinic.example', 'admin', true);
});

test('ERA-1: a patient erasure request from the widget erases the conversation at once', async () => {
  const a = await converse(gw, ['please forget me', 'thanks'], { keepOpen: true });
  a.ws.sendJson({ type: 'erase_request' });
  await a.ws.next('erase_accepted');
  await waitFor(() => count(`SELECT count(*) FROM conversation WHERE id = '${a.conv}'`) === 0);
  assert.equal(count(`SELECT count(*) FROM message WHERE conversation_id = '${a.conv}'`), 0);
  assert.equal(count(`SELECT count(*) FROM data_key WHERE conversation_id = '${a.conv}'`), 0);
  const ev = auditEvents(env.cluster, 'erasure.%');
  if (ev) {
    const mine = ev.filter((e) => e.subject === `conversation:${a.conv}`).map((e) => e.event);
    assert.deepEqual(mine, ['erasure.requested', 'erasure.key_destroyed', 'erasure.deleted']);
  }
  a.ws.close();
});

test('ERA-1: an erasure request under legal hold is refused with legal_hold', async () => {
  const a = await converse(gw, ['held text'], { keepOpen: true });
  let r = F.cli(env.config, ['hold', 'set', '--conversation', a.conv, '--reason-code', 'court-17',
    '--as', 'dpo@demo-clinic.example']);
  assert.equal(r.status, 0, r.stderr);
  a.ws.sendJson({ type: 'erase_request' });
  const err = await a.ws.next('error');
  assert.equal(err.code, 'legal_hold');
  // The CLI refuses too (exit 4), and nothing changed.
  r = F.cli(env.config, ['erase', '--conversation', a.conv, '--as', 'admin@demo-clinic.example']);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /legal_hold/);
  assert.equal(count(`SELECT count(*) FROM message WHERE conversation_id = '${a.conv}'`), 1);
  assert.equal(count(`SELECT count(*) FROM data_key WHERE conversation_id = '${a.conv}'`), 1);
  assert.equal(env.cluster.psql(`SELECT erase_requested_at IS NULL FROM conversation WHERE id = '${a.conv}'`), 't');
  r = F.cli(env.config, ['hold', 'lift', '--conversation', a.conv, '--as', 'dpo@demo-clinic.example']);
  assert.equal(r.status, 0, r.stderr);
  a.ws.close();
});

test('ROLE-1: erasure, export and legal hold are refused to agents and unknown or disabled accounts', async () => {
  const a = await converse(gw, ['not yours to take']);
  for (const who of ['agent@demo-clinic.example', 'nobody@demo-clinic.example', 'gone@demo-clinic.example']) {
    let r = F.cli(env.config, ['erase', '--conversation', a.conv, '--as', who]);
    assert.equal(r.status, 3, `erase as ${who}: ${r.stderr}`);
    assert.match(r.stderr, /forbidden/);
    const e = exportOf(env, { conversation: a.conv, as: who });
    assert.equal(e.r.status, 3, `export as ${who}: ${e.r.stderr}`);
    assert.deepEqual(e.files, []); // nothing written
    r = F.cli(env.config, ['hold', 'set', '--conversation', a.conv, '--as', who]);
    assert.equal(r.status, 3);
  }
  assert.equal(count(`SELECT count(*) FROM message WHERE conversation_id = '${a.conv}'`), 1);
  assert.equal(env.cluster.psql(`SELECT legal_hold FROM conversation WHERE id = '${a.conv}'`), 'f');
  const ev = auditEvents(env.cluster, '%.refused');
  if (ev) assert.ok(ev.some((e) => e.event === 'erase.refused' && e.details.role === 'agent'));
});

test('EXP-1: an admin exports a contact as JSON and escaped HTML, decrypted and audited', async () => {
  const hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
  const a = await converse(gw, ['Grüße, mein Termin?', hostile]);
  const contact = contactOf(a.conv);
  const e = exportOf(env, { contact, as: 'admin@demo-clinic.example' });
  assert.equal(e.r.status, 0, e.r.stderr);
  assert.equal(e.mode, 0o600);
  assert.equal(e.json.format, 'caregate.export.v1');
  assert.deepEqual(texts(e.json), ['Grüße, mein Termin?', hostile]);
  assert.ok(!e.html.includes('<script>alert'));
  assert.ok(!e.html.includes('<img src=x'));
  assert.ok(e.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;'));
  assert.ok(e.html.includes('Grüße, mein Termin?'));
  const ev = auditEvents(env.cluster, 'export.created');
  if (ev) {
    const mine = ev.find((x) => x.subject === `contact:${contact}`);
    assert.equal(mine.details.messages, 2);
    assert.ok(!JSON.stringify(ev).includes('Termin'));
  }
});

test('ROLE-1: console frames: any staff sets a retention class, only admin/dpo a legal hold', async () => {
  const a = await converse(gw, ['class me']);
  F.addStaff(env.config, 'agent2@demo-clinic.example', 'correct horse battery 1', 'agent', 'Ann');
  F.addStaff(env.config, 'admin2@demo-clinic.example', 'correct horse battery 2', 'admin', 'Ada');
  const agent = await F.staff(gw, (await F.login(gw, 'agent2@demo-clinic.example', 'correct horse battery 1')).cookie);
  const admin = await F.staff(gw, (await F.login(gw, 'admin2@demo-clinic.example', 'correct horse battery 2')).cookie);

  agent.sendJson({ type: 'retention', conversation: a.conv, class: 'appointment' });
  assert.deepEqual(await agent.next('retention'), { type: 'retention', conversation: a.conv, class: 'appointment' });
  assert.equal(env.cluster.psql(`SELECT retention_class FROM conversation WHERE id = '${a.conv}'`), 'appointment');
  agent.sendJson({ type: 'retention', conversation: a.conv, class: 'forever' });
  assert.equal((await agent.next('error')).code, 'bad_request');

  agent.sendJson({ type: 'legal_hold', conversation: a.conv, hold: true });
  assert.equal((await agent.next('error')).code, 'forbidden');
  assert.equal(env.cluster.psql(`SELECT legal_hold FROM conversation WHERE id = '${a.conv}'`), 'f');
  admin.sendJson({ type: 'legal_hold', conversation: a.conv, hold: true, reason_code: 'audit-2026' });
  assert.equal((await admin.next('legal_hold')).hold, true);
  assert.equal(env.cluster.psql(`SELECT legal_hold_reason FROM conversation WHERE id = '${a.conv}'`), 'audit-2026');
  admin.sendJson({ type: 'legal_hold', conversation: a.conv, hold: false });
  assert.equal((await admin.next('legal_hold')).hold, false);
  assert.equal(env.cluster.psql(`SELECT legal_hold FROM conversation WHERE id = '${a.conv}'`), 'f');
  agent.close();
  admin.close();
});

test('ERA-1: a DPO erases everything of a contact', async () => {
  const a = await converse(gw, ['erase me by contact']);
  const contact = contactOf(a.conv);
  const r = F.cli(env.config, ['erase', '--contact', contact, '--as', 'dpo@demo-clinic.example']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /erased: 1 conversation\(s\), 1 message\(s\), 1 data key\(s\), 1 contact\(s\)/);
  assert.equal(count(`SELECT count(*) FROM contact WHERE id = '${contact}'`), 0);
  assert.equal(count(`SELECT count(*) FROM conversation WHERE id = '${a.conv}'`), 0);
  // Usage errors: both or neither id.
  assert.equal(F.cli(env.config, ['erase']).status, 2);
  assert.equal(F.cli(env.config, ['erase', '--conversation', a.conv, '--contact', contact]).status, 2);
  // Unknown ids are reported, not silently accepted (and no empty export is written).
  assert.equal(F.cli(env.config, ['erase', '--conversation', a.conv]).status, 1);
  const e = exportOf(env, { contact, as: 'admin@demo-clinic.example' });
  assert.equal(e.r.status, 1);
  assert.match(e.r.stderr, /no such contact/);
  assert.deepEqual(e.files, []);
  await stopClean(gw);
});
