// SPDX-License-Identifier: Apache-2.0
// Retention (issue 5) against the real binary and a real PostgreSQL: the injected clock
// (--now), legal hold, a kill -9 in the middle of a run followed by a rerun, crypto-
// shredding (nothing can open the conversation afterwards, and a canary string is found
// nowhere in the data directory or WAL), one runner at a time, and the gateway's timer.
// Requirement ids: RET-1 period, RET-2 legal hold, RET-3 shred first, RET-4 audit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { stopClean } from './lib/rights_helpers.mjs';
import path from 'node:path';
import { F, setup, teardown, converse, closeConv, cliAsync, exportOf, texts, filesContaining,
  auditEvents, waitFor } from './lib/rights_helpers.mjs';

const envs = [];
after(() => { for (const e of envs) teardown(e); });

function fresh(extra) {
  const e = setup(extra);
  envs.push(e);
  return e;
}

const count = (env, sql) => Number(env.cluster.psql(sql));

test('RET-1: retention run with an injected clock (--now) deletes exactly what is due', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const a = await converse(gw, ['general one']);
  const b = await converse(gw, ['appointment one', 'second']);
  const c = await converse(gw, ['still open']);
  closeConv(env.cluster, a.conv, '2026-01-01T00:00:00Z', 'general');     // due 2027-01-01
  closeConv(env.cluster, b.conv, '2026-01-01T00:00:00Z', 'appointment'); // due 2026-04-01

  // Before any period ends nothing is due; a dry run changes nothing either.
  let r = F.cli(env.config, ['retention', 'run', '--now', '2026-03-01T00:00:00Z', '--json']);
  assert.equal(r.status, 0, r.stderr);
  let j = JSON.parse(r.stdout);
  assert.equal(j.due, 0);
  assert.equal(j.kept_period, 2);
  r = F.cli(env.config, ['retention', 'run', '--dry-run', '--now', '2026-04-02T00:00:00Z', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).due, 1);
  assert.equal(count(env, 'SELECT count(*) FROM conversation'), 3);

  // Past the appointment period: exactly b goes, key first, then rows and contact.
  r = F.cli(env.config, ['retention', 'run', '--now', '2026-04-02T00:00:00Z', '--json']);
  assert.equal(r.status, 0, r.stderr);
  j = JSON.parse(r.stdout);
  assert.deepEqual([j.due, j.data_keys_destroyed, j.conversations_deleted, j.messages_deleted,
    j.contacts_deleted], [1, 1, 1, 2, 1]);
  assert.match(r.stderr, /retention: deleting \[#+\] 1\/1/); // progress on stderr
  assert.equal(count(env, `SELECT count(*) FROM conversation WHERE id = '${b.conv}'`), 0);
  assert.equal(count(env, `SELECT count(*) FROM message WHERE conversation_id = '${b.conv}'`), 0);
  assert.equal(count(env, `SELECT count(*) FROM data_key WHERE conversation_id = '${b.conv}'`), 0);
  assert.equal(count(env, 'SELECT count(*) FROM conversation'), 2);

  // A year later a goes too; the open conversation c is kept whatever the clock says.
  r = F.cli(env.config, ['retention', 'run', '--now', '2040-01-01T00:00:00Z', '--json']);
  j = JSON.parse(r.stdout);
  assert.equal(j.conversations_deleted, 1);
  assert.equal(j.kept_open, 0); // open conversations are not even listed (no closed_at)
  assert.deepEqual(env.cluster.psql('SELECT id FROM conversation'), c.conv);

  // Idempotent: running again finds nothing.
  r = F.cli(env.config, ['retention', 'run', '--now', '2040-01-01T00:00:00Z', '--json']);
  assert.equal(JSON.parse(r.stdout).due, 0);

  const ev = auditEvents(env.cluster, 'retention.%');
  if (ev) { // RET-4: ids and counts only
    const kinds = ev.map((e) => e.event);
    assert.ok(kinds.includes('retention.key_destroyed') && kinds.includes('retention.deleted') &&
      kinds.includes('retention.run'));
    const del = ev.find((e) => e.event === 'retention.deleted' && e.subject === `conversation:${b.conv}`);
    assert.equal(del.details.messages, 2);
    assert.ok(!JSON.stringify(ev).includes('appointment one'));
  }
  // Bad clock values are usage errors.
  assert.equal(F.cli(env.config, ['retention', 'run', '--now', 'yesterday']).status, 2);
  await stopClean(gw);
});

test('closing a conversation sets closed_at (trigger), reopening by a patient clears it', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const a = await converse(gw, ['hi'], { keepOpen: true });
  env.cluster.psql(`UPDATE conversation SET status = 'done' WHERE id = '${a.conv}'`);
  assert.equal(env.cluster.psql(`SELECT closed_at IS NOT NULL FROM conversation WHERE id = '${a.conv}'`), 't');
  a.ws.sendJson({ type: 'msg', client_id: 'again', text: 'one more question' });
  await a.ws.next('ack');
  assert.equal(env.cluster.psql(`SELECT status || ' ' || (closed_at IS NULL) FROM conversation WHERE id = '${a.conv}'`), 'open true');
  a.ws.close();
  await stopClean(gw);
});

test('RET-2: legal hold keeps a due conversation until it is lifted', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const a = await converse(gw, ['held']);
  closeConv(env.cluster, a.conv, '2020-01-01T00:00:00Z', 'appointment');
  let r = F.cli(env.config, ['hold', 'set', '--conversation', a.conv, '--reason-code', 'LIT-2026-7']);
  assert.equal(r.status, 0, r.stderr);
  r = F.cli(env.config, ['retention', 'run', '--json']);
  let j = JSON.parse(r.stdout);
  assert.equal(j.kept_legal_hold, 1);
  assert.equal(j.conversations_deleted, 0);
  assert.equal(count(env, `SELECT count(*) FROM data_key WHERE conversation_id = '${a.conv}'`), 1);
  // Free text is refused as a reason code (it could carry names into the audit log).
  assert.notEqual(F.cli(env.config, ['hold', 'set', '--conversation', a.conv, '--reason-code', 'Mr Smith sued']).status, 0);
  r = F.cli(env.config, ['hold', 'lift', '--conversation', a.conv]);
  assert.equal(r.status, 0, r.stderr);
  r = F.cli(env.config, ['retention', 'run', '--json']);
  j = JSON.parse(r.stdout);
  assert.equal(j.conversations_deleted, 1);
  const ev = auditEvents(env.cluster, 'legal_hold.%');
  if (ev) assert.deepEqual(ev.map((e) => e.event), ['legal_hold.set', 'legal_hold.lifted']);
  await stopClean(gw);
});

test('RET-3: kill -9 in the middle of a retention run; the rerun completes with nothing half-done', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const convs = [];
  for (let i = 0; i < 4; i++) convs.push((await converse(gw, [`m${i}a`, `m${i}b`])).conv);
  for (const c of convs) closeConv(env.cluster, c, '2020-01-01T00:00:00Z', 'general');
  // Steps: key of #1, rows of #1, key of #2 -> killed before #2's rows are deleted.
  const r = await cliAsync(env.config, ['retention', 'run', '--json'], { CAREGATE_TEST_CRASH_AFTER: '3' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.equal(count(env, 'SELECT count(*) FROM conversation'), 3);
  assert.equal(count(env, 'SELECT count(*) FROM conversation WHERE shredded_at IS NOT NULL'), 1);
  const half = env.cluster.psql('SELECT id FROM conversation WHERE shredded_at IS NOT NULL');
  assert.equal(count(env, `SELECT count(*) FROM data_key WHERE conversation_id = '${half}'`), 0);
  assert.equal(count(env, `SELECT count(*) FROM message WHERE conversation_id = '${half}'`), 2);
  // Even if the patient came back meanwhile (reopened), a shredded conversation is finished.
  env.cluster.psql(`UPDATE conversation SET status = 'open', closed_at = NULL WHERE id = '${half}'`);

  const r2 = F.cli(env.config, ['retention', 'run', '--json']);
  assert.equal(r2.status, 0, r2.stderr);
  const j = JSON.parse(r2.stdout);
  assert.equal(j.conversations_deleted, 3);
  assert.equal(count(env, 'SELECT count(*) FROM conversation'), 0);
  assert.equal(count(env, 'SELECT count(*) FROM message'), 0);
  assert.equal(count(env, 'SELECT count(*) FROM data_key'), 0);
  assert.equal(count(env, 'SELECT count(*) FROM contact'), 0);
  assert.equal(count(env, 'SELECT count(*) FROM patient_session'), 0);
  await stopClean(gw);
});

test('RET-3: after shredding nothing opens the conversation and a canary is nowhere on disk', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const canary = `CANARY-${Math.random().toString(36).slice(2)}-7f3a`;
  const a = await converse(gw, [`my text ${canary} end`, 'second']);
  // Readable before: the export decrypts it.
  const before = exportOf(env, { conversation: a.conv });
  assert.equal(before.r.status, 0, before.r.stderr);
  assert.ok(texts(before.json).some((t) => t.includes(canary)));
  fs.rmSync(before.out, { recursive: true, force: true });

  closeConv(env.cluster, a.conv, '2020-01-01T00:00:00Z', 'general');
  // Stop right after step 1 (key destroyed, rows still there): the ciphertext rows exist
  // but no wrapped key does, so no master key version can open them.
  const r = await cliAsync(env.config, ['retention', 'run'], { CAREGATE_TEST_CRASH_AFTER: '1' });
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(count(env, `SELECT count(*) FROM message WHERE conversation_id = '${a.conv}'`), 2);
  assert.equal(count(env, `SELECT count(*) FROM data_key WHERE conversation_id = '${a.conv}'`), 0);
  const mid = exportOf(env, { conversation: a.conv });
  assert.equal(mid.r.status, 0, mid.r.stderr);
  assert.equal(mid.json.conversations[0].unreadable, 'data key destroyed');
  assert.ok(!JSON.stringify(mid.json).includes(canary));
  assert.ok(!mid.html.includes(canary));
  fs.rmSync(mid.out, { recursive: true, force: true });

  assert.equal(F.cli(env.config, ['retention', 'run']).status, 0);
  assert.equal(count(env, 'SELECT count(*) FROM message'), 0);
  env.cluster.psql('CHECKPOINT');
  await stopClean(gw);
  env.cluster.stop('fast');
  const hits = filesContaining(env.cluster.dir, canary).concat(filesContaining(path.join(env.dir, 'state'), canary));
  assert.deepEqual(hits, [], `canary found in ${hits.join(', ')}`);
  assert.ok(!gw.logs.includes(canary));
  env.cluster.start();
});

test('a retention run deletes webhook de-duplication keys past the 7-day retry window (plus a day) and sessions expired 30 days ago, keeps newer ones, and audits the counts', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const ch = env.cluster.psql("INSERT INTO channel (platform, account_id, app_secret_file, token_file) VALUES ('messenger', '1234567', '/nonexistent/secret', '/nonexistent/token') RETURNING id").trim();
  env.cluster.psql(`INSERT INTO webhook_dedup (channel_id, kind, key_hash, received_at) VALUES
    ('${ch}', 'msg', '\\x01', '2026-03-20T00:00:00Z'), ('${ch}', 'status', '\\x02', '2026-03-24T23:00:00Z'),
    ('${ch}', 'msg', '\\x03', '2026-03-25T01:00:00Z'), ('${ch}', 'msg', '\\x04', '2026-04-01T00:00:00Z')`);
  // staff sessions: gone 30 days after they expired or were revoked; a live one stays
  const st = env.cluster.psql("INSERT INTO staff (email, role, alias, password_hash) VALUES ('old@clinic.example', 'agent', 'Old', 'x') RETURNING id").trim();
  env.cluster.psql(`INSERT INTO staff_session (token_hash, staff_id, expires_at, revoked_at) VALUES
    ('\\x11', '${st}', '2026-02-01T00:00:00Z', NULL), ('\\x12', '${st}', '2026-05-01T00:00:00Z', '2026-02-10T00:00:00Z'),
    ('\\x13', '${st}', '2026-03-10T00:00:00Z', NULL), ('\\x14', '${st}', '2026-05-01T00:00:00Z', NULL)`);
  let r = F.cli(env.config, ['retention', 'run', '--dry-run', '--now', '2026-04-02T00:00:00Z', '--json']);
  assert.equal(JSON.parse(r.stdout).webhook_keys_deleted, 0, 'a dry run deletes nothing');
  assert.equal(JSON.parse(r.stdout).sessions_deleted, 0);
  assert.equal(count(env, 'SELECT count(*) FROM webhook_dedup'), 4);
  r = F.cli(env.config, ['retention', 'run', '--now', '2026-04-02T00:00:00Z', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).webhook_keys_deleted, 2);
  assert.equal(JSON.parse(r.stdout).sessions_deleted, 2);
  assert.equal(env.cluster.psql("SELECT string_agg(encode(key_hash, 'hex'), ',' ORDER BY key_hash) FROM webhook_dedup"), '03,04');
  assert.equal(env.cluster.psql("SELECT string_agg(encode(token_hash, 'hex'), ',' ORDER BY token_hash) FROM staff_session"), '13,14');
  r = F.cli(env.config, ['retention', 'run', '--now', '2026-04-02T00:00:00Z']);
  assert.match(r.stdout, /; expired: 0 webhook key\(s\), 0 session\(s\) deleted/);
  const ev = auditEvents(env.cluster, 'retention.run').filter((e) => e.details.clock === '2026-04-02T00:00:00Z');
  assert.deepEqual(ev.map((e) => [e.details.webhook_keys_deleted, e.details.sessions_deleted]), [[2, 2], [0, 0]]);
  await stopClean(gw);
});

test('one retention runner at a time (advisory lock)', async () => {
  const env = fresh();
  // Hold the runner's lock from another session, as a second gateway mid-run would.
  const { spawn } = await import('node:child_process');
  const holder = spawn('psql', ['-h', env.cluster.sock, '-p', String(env.cluster.port), '-U', 'caregate', '-d', 'caregate', '-XAtq'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  holder.stdin.write('SELECT pg_advisory_lock(1667715668);\nSELECT 1;\n');
  await new Promise((res) => holder.stdout.once('data', res));
  const r = F.cli(env.config, ['retention', 'run', '--json']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /another retention run/);
  holder.stdin.end();
  await new Promise((res) => holder.on('exit', res));
  assert.equal(F.cli(env.config, ['retention', 'run']).status, 0);
});

test('the gateway runs retention on its timer (retention_interval_seconds)', async () => {
  const env = fresh({ retention_interval_seconds: 1 });
  const gw = await F.startGateway(env.config);
  const a = await converse(gw, ['timer']);
  closeConv(env.cluster, a.conv, '2020-01-01T00:00:00Z', 'general');
  await waitFor(() => count(env, `SELECT count(*) FROM conversation WHERE id = '${a.conv}'`) === 0, 20000);
  await stopClean(gw);
});
