// SPDX-License-Identifier: Apache-2.0
// The tamper-evident audit log end to end: the real caregate binary (`audit verify`,
// `audit export`, `audit checkpoint`, `keys init|status`) against a real PostgreSQL.
// Each tamper trial gets a fresh database holding a valid chain with two signed
// checkpoints, tampers with it as the superuser (triggers bypassed with
// session_replication_role = replica or ALTER TABLE ... DISABLE TRIGGER), and expects
// `caregate audit verify` to exit 1 naming the first bad seq. Also: concurrent appends from
// several connections, concurrent checkpoint writers, the application role's limits, and
// export + offline verification.
//
// The cluster is a throwaway one started here (initdb in a temp dir, unix socket only; as
// root the server runs as the postgres user), so this test needs neither the embedded
// cluster nor a running gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const BIN = process.env.CAREGATE_BIN || path.resolve('build/gateway/caregate');
const SRC = process.env.CAREGATE_SRC || path.resolve('.');
const PGBIN = '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid() === 0;

let dir;          // temp dir: cluster, socket, state
let dbCounter = 0;

function pgCmd(args) {
  const cmd = asRoot ? 'runuser' : args[0];
  const argv = asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1);
  execFileSync(cmd, argv, { stdio: 'pipe' });
}

function client(db, user = 'postgres') {
  return new pg.Client({ host: dir, database: db, user });
}

async function sql(db, text, params, user) {
  const c = client(db, user);
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

function configFor(db) {
  const conf = path.join(dir, `${db}.conf`);
  fs.writeFileSync(conf,
    `state_dir = ${path.join(dir, 'state')}\n` +
    `database_url = host=${dir} dbname=${db} user=postgres\n` +
    'log_level = warn\n');
  return conf;
}

// Runs caregate; resolves {code, stdout, stderr} (never rejects on a non-zero exit).
function cli(conf, ...args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['--config', conf, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// A fresh database with the core + audit schema.
async function freshDb() {
  const db = `audit${++dbCounter}`;
  await sql('postgres', `CREATE DATABASE ${db}`);
  for (const f of ['001_core.sql', '002_audit.sql']) {
    await sql(db, fs.readFileSync(path.join(SRC, 'gateway/sql', f), 'utf8'));
  }
  return { db, conf: configFor(db) };
}

async function append(db, n, event = 'conversation.opened') {
  const c = client(db);
  await c.connect();
  for (let i = 0; i < n; i++) {
    await c.query("SELECT audit_append($1, 'staff:0b6f', $2, $3::jsonb)",
      [event, `conversation:${i}`, JSON.stringify({ count: i, rule: 'R-7' })]);
  }
  await c.end();
}

async function checkpoint(conf) {
  const r = await cli(conf, 'audit', 'checkpoint');
  assert.equal(r.code, 0, r.stderr);
}

// seq 1..8 records, checkpoint n=1 covers 8 (announced at 9), 10..15 records,
// checkpoint n=2 covers 15 (announced at 16), 17..19 records.
async function populated() {
  const t = await freshDb();
  await append(t.db, 8);
  await checkpoint(t.conf);
  await append(t.db, 6);
  await checkpoint(t.conf);
  await append(t.db, 3, 'login.ok');
  const v = await cli(t.conf, 'audit', 'verify');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /OK: database: 19 records, 2 checkpoints, signed up to seq 15/);
  return t;
}

// As the superuser with triggers bypassed for this transaction only.
async function tamper(db, ...statements) {
  const c = client(db);
  await c.connect();
  await c.query('BEGIN');
  await c.query('SET LOCAL session_replication_role = replica');
  for (const s of statements) await c.query(s);
  await c.query('COMMIT');
  await c.end();
}

async function expectBad(t, seq, pattern) {
  const r = await cli(t.conf, 'audit', 'verify');
  assert.equal(r.code, 1, `verify should fail: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`FAILED at seq ${seq}:`), r.stdout);
  if (pattern) assert.match(r.stdout, pattern, r.stdout);
  return r.stdout;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-audit-'));
  fs.chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  pgCmd([`${PGBIN}/initdb`, '-D', `${dir}/data`, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  pgCmd([`${PGBIN}/pg_ctl`, '-D', `${dir}/data`, '-w', '-l', `${dir}/log`, '-o',
    `-c listen_addresses='' -c unix_socket_directories=${dir}`, 'start']);
  fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
  const r = execFileSync(BIN, ['--config', configFor('postgres'), 'keys', 'init']).toString();
  assert.match(r, /created audit signing key/);
});

after(() => {
  try {
    pgCmd([`${PGBIN}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an untouched log verifies; the head row and checkpoints agree', async () => {
  const t = await populated();
  const head = await sql(t.db, 'SELECT seq FROM audit_head');
  assert.equal(head.rows[0].seq, '19');
  const ann = await sql(t.db, "SELECT seq, details FROM audit_log WHERE event = 'audit.checkpoint' ORDER BY seq");
  assert.deepEqual(ann.rows.map((r) => r.seq), ['9', '16']);
  assert.equal(JSON.parse(ann.rows[1].details).seq, 15);
});

test('tamper: an edited record is named [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, `UPDATE audit_log SET details = '{"count": 99, "rule": "R-7"}' WHERE seq = 5`);
  await expectBad(t, 5, /hash mismatch/);
});

test('tamper: an edited and re-hashed record breaks the chain at the next one [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db,
    "UPDATE audit_log SET actor = 'staff:ffff', hash = audit_record_hash(prev_hash, seq, audit_ts_text(ts), event, 'staff:ffff', subject, details) WHERE seq = 12");
  await expectBad(t, 13, /prev_hash/);
});

test('tamper: a whole chain recomputed after an edit is caught by the signed checkpoint [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db,
    "UPDATE audit_log SET actor = 'staff:ffff' WHERE seq = 3",
    // re-chain every record from 3 on, in order, as an attacker without the signing key can
    `DO $$ DECLARE r record; p bytea; BEGIN
       FOR r IN SELECT * FROM audit_log WHERE seq >= 3 ORDER BY seq LOOP
         SELECT hash INTO p FROM audit_log WHERE seq = r.seq - 1;
         UPDATE audit_log SET prev_hash = p,
           hash = audit_record_hash(p, r.seq, audit_ts_text(r.ts), r.event, r.actor, r.subject, r.details)
         WHERE seq = r.seq;
       END LOOP;
       UPDATE audit_head SET hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1);
     END $$`);
  await expectBad(t, 8, /checkpoint n=1/);
});

test('tamper: a deleted record is a gap (trigger disabled with ALTER TABLE) [AUD-2]', async () => {
  const t = await populated();
  await sql(t.db, 'ALTER TABLE audit_log DISABLE TRIGGER USER');
  await sql(t.db, 'DELETE FROM audit_log WHERE seq = 6');
  await sql(t.db, 'ALTER TABLE audit_log ENABLE TRIGGER USER');
  await expectBad(t, 6, /gap/);
});

test('tamper: two records swapped are named at the first [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db,
    'UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (11, 12)',
    'UPDATE audit_log SET seq = 12 WHERE seq = 1011',
    'UPDATE audit_log SET seq = 11 WHERE seq = 1012');
  await expectBad(t, 11);
});

test('tamper: a forged record inserted in the middle (renumbering the rest) is found [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db,
    'UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6',
    'UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1006',
    `INSERT INTO audit_log SELECT 6, ts, 'export.done', 'staff:0b6f', '', '{}', hash,
       audit_record_hash(hash, 6, audit_ts_text(ts), 'export.done', 'staff:0b6f', '', '{}')
     FROM audit_log WHERE seq = 5`);
  // The forged record chains correctly from 5; the first bad one is the renumbered 7.
  await expectBad(t, 7, /hash mismatch/);
});

test('tamper: a forged record appended behind audit_append is found by the head row [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db,
    `INSERT INTO audit_log SELECT 20, ts, 'export.done', 'staff:0b6f', '', '{}', hash,
       audit_record_hash(hash, 20, audit_ts_text(ts), 'export.done', 'staff:0b6f', '', '{}')
     FROM audit_log WHERE seq = 19`);
  await expectBad(t, 20, /head row/);
});

test('tamper: truncation after the last checkpoint is found by the head row [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'DELETE FROM audit_log WHERE seq > 17');
  await expectBad(t, 18, /truncated/);
});

test('tamper: truncation below a checkpoint (head rewritten too) is found by the checkpoint [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'DELETE FROM audit_log WHERE seq >= 13',
    'UPDATE audit_head SET seq = 12, hash = (SELECT hash FROM audit_log WHERE seq = 12)');
  await expectBad(t, 13, /checkpoint n=2 covers seq 15/);
});

test('tamper: TRUNCATE of the whole log is found [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'TRUNCATE audit_log');
  await expectBad(t, 1);
});

test('tamper: an edited checkpoint fails its signature [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, "UPDATE audit_checkpoint SET ts = ts + interval '1 second' WHERE n = 1");
  await expectBad(t, 8, /bad signature/);
});

test('tamper: a checkpoint moved to another record fails its signature [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'UPDATE audit_checkpoint SET seq = 14, hash = (SELECT hash FROM audit_log WHERE seq = 14) WHERE n = 2');
  await expectBad(t, 14, /bad signature/);
});

test('tamper: the newest checkpoint deleted is found by its announcement [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'DELETE FROM audit_checkpoint WHERE n = 2');
  await expectBad(t, 16, /announces checkpoint n=2, which is missing/);
});

test('tamper: a middle checkpoint deleted is a checkpoint gap [AUD-2]', async () => {
  const t = await populated();
  await tamper(t.db, 'DELETE FROM audit_checkpoint WHERE n = 1');
  await expectBad(t, 15, /checkpoint/);
});

test('tamper: a checkpoint forged with another key is refused [AUD-2]', async () => {
  const t = await populated();
  // Another install's key: checkpoints it signs are not trusted here.
  const other = path.join(dir, 'other-state');
  fs.mkdirSync(other, { mode: 0o700 });
  const conf = path.join(dir, 'other.conf');
  fs.writeFileSync(conf, `state_dir = ${other}\ndatabase_url = host=${dir} dbname=${t.db} user=postgres\n`);
  assert.equal((await cli(conf, 'keys', 'init')).code, 0);
  await append(t.db, 1);
  assert.equal((await cli(conf, 'audit', 'checkpoint')).code, 0);
  await expectBad(t, 20, /unknown key/);
});

test('audit rows are append-only, even for the owner, without bypassing triggers [AUD-1]', async () => {
  const t = await populated();
  for (const s of ['UPDATE audit_log SET actor = 1::text WHERE seq = 1', 'DELETE FROM audit_log WHERE seq = 1',
    'TRUNCATE audit_log', 'DELETE FROM audit_checkpoint', 'UPDATE audit_head SET seq = 3',
    'TRUNCATE audit_checkpoint']) {
    await assert.rejects(sql(t.db, s), /append-only|only advances/, s);
  }
});

test('the application role cannot change audit rows but can append [AUD-1]', async () => {
  const t = await populated();
  const role = await sql(t.db, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'caregate_app'");
  assert.equal(role.rows[0].rolcanlogin, true);
  for (const s of ['UPDATE audit_log SET actor = $$x$$ WHERE seq = 1', 'DELETE FROM audit_log WHERE seq = 1',
    'TRUNCATE audit_log', "INSERT INTO audit_log SELECT 100, now(), 'a.b', '', '', '{}', hash, hash FROM audit_head",
    'UPDATE audit_head SET seq = seq + 1', 'DELETE FROM audit_checkpoint',
    "INSERT INTO audit_checkpoint SELECT 9, 1, hash, now(), signature, key_id, public_key FROM audit_checkpoint LIMIT 1"]) {
    await assert.rejects(sql(t.db, s, [], 'caregate_app'), (e) => e.code === '42501', s);
  }
  const r = await sql(t.db, "SELECT audit_append('conversation.opened', 'staff:1', 'conversation:9', '{}')", [], 'caregate_app');
  assert.equal(r.rows[0].audit_append, '20');
  // ... and can use the application tables
  await sql(t.db, "INSERT INTO contact (channel) VALUES ('web')", [], 'caregate_app');
  // ... and cannot append something that is not an object
  await assert.rejects(sql(t.db, "SELECT audit_append('a.b', '', '', '[1]')", [], 'caregate_app'), /JSON object/);
  const v = await cli(t.conf, 'audit', 'verify');
  assert.equal(v.code, 0, v.stdout);
});

test('concurrent appends from several connections keep one valid chain [AUD-6]', async () => {
  const t = await freshDb();
  const N = 8, M = 40;
  const clients = await Promise.all(Array.from({ length: N }, async () => {
    const c = client(t.db);
    await c.connect();
    return c;
  }));
  await Promise.all(clients.map(async (c, k) => {
    for (let i = 0; i < M; i++) {
      // Each append inside a transaction doing other work, as the gateway does.
      await c.query('BEGIN');
      await c.query("SELECT audit_append('message.policy', $1, $2, $3::jsonb)",
        [`staff:${k}`, `message:${k}-${i}`, JSON.stringify({ action: 'allow', findings: {} })]);
      await c.query('SELECT pg_sleep(0.001)');
      await c.query(i % 7 === 3 ? 'ROLLBACK' : 'COMMIT'); // rolled-back appends leave no gap
    }
  }));
  await Promise.all(clients.map((c) => c.end()));
  const r = await sql(t.db, 'SELECT count(*)::int AS n, max(seq)::int AS m FROM audit_log');
  assert.equal(r.rows[0].n, r.rows[0].m);
  // and several gateway processes writing checkpoints at once produce exactly one
  const runs = await Promise.all([1, 2, 3, 4].map(() => cli(t.conf, 'audit', 'checkpoint')));
  for (const x of runs) assert.equal(x.code, 0, x.stderr);
  const cps = await sql(t.db, 'SELECT count(*)::int AS n FROM audit_checkpoint');
  assert.equal(cps.rows[0].n, 1);
  const v = await cli(t.conf, 'audit', 'verify');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`OK: database: ${r.rows[0].n + 1} records`));
});

test('export (jsonl, csv, range) verifies offline; edits to the file are found [AUD-5]', async () => {
  const t = await populated();
  const full = path.join(dir, `${t.db}.jsonl`);
  let r = await cli(t.conf, 'audit', 'export', '--out', full);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.statSync(full).mode & 0o777, 0o600);
  const lines = fs.readFileSync(full, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'header');
  assert.ok(lines.some((l) => l.type === 'key' && l.public_key));
  assert.equal(lines.filter((l) => l.type === 'record').length, 19);
  assert.equal(lines.filter((l) => l.type === 'checkpoint').length, 2);

  // offline: no database in the config at all
  const offline = path.join(dir, 'offline.conf');
  fs.writeFileSync(offline, `state_dir = ${path.join(dir, 'nowhere')}\n`);
  r = await cli(offline, 'audit', 'verify', '--file', full);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /OK: complete export: 19 records, 2 checkpoints/);
  const pub = path.join(dir, 'state', 'audit-signing.key.pub');
  r = await cli(offline, 'audit', 'verify', '--file', full, '--pubkey', pub);
  assert.equal(r.code, 0, r.stdout + r.stderr);

  // the export itself was recorded
  const ex = await sql(t.db, "SELECT details FROM audit_log WHERE event = 'audit.export'");
  assert.equal(ex.rows.length, 1);

  // edited file
  const bad = path.join(dir, `${t.db}-bad.jsonl`);
  fs.writeFileSync(bad, fs.readFileSync(full, 'utf8').replace('conversation:3"', 'conversation:4"'));
  r = await cli(offline, 'audit', 'verify', '--file', bad);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED at seq 4:/);
  // a record line dropped from the file
  const dropped = lines.filter((l) => !(l.type === 'record' && l.seq === 10)).map((l) => JSON.stringify(l)).join('\n');
  fs.writeFileSync(bad, dropped + '\n');
  r = await cli(offline, 'audit', 'verify', '--file', bad);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED at seq 10:/);
  // the tail dropped (truncated export)
  const cut = lines.filter((l) => !(l.type === 'record' && l.seq > 12)).map((l) => JSON.stringify(l)).join('\n');
  fs.writeFileSync(bad, cut + '\n');
  r = await cli(offline, 'audit', 'verify', '--file', bad);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED at seq 13:/);
  // someone else's public key
  const otherPub = path.join(dir, 'other.pub');
  fs.writeFileSync(otherPub, 'ed25519 QOp/Pr0j7d1bn3xWoRr7W+mKdsx8hxN2xVi+kUqOl8Y=\n');
  r = await cli(offline, 'audit', 'verify', '--file', full, '--pubkey', otherPub);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /unknown key/);

  // CSV round trip
  const csv = path.join(dir, `${t.db}.csv`);
  r = await cli(t.conf, 'audit', 'export', '--format', 'csv', '--out', csv);
  assert.equal(r.code, 0, r.stderr);
  assert.match(fs.readFileSync(csv, 'utf8'), /^kind,seq,n,ts,event,actor,subject,details/);
  r = await cli(offline, 'audit', 'verify', '--file', csv, '--pubkey', pub);
  assert.equal(r.code, 0, r.stdout + r.stderr);

  // a time range: records from the first checkpoint's announcement on
  const from = (await sql(t.db, 'SELECT audit_ts_text(ts) AS t FROM audit_log WHERE seq = 9')).rows[0].t;
  const to = (await sql(t.db, 'SELECT audit_ts_text(ts) AS t FROM audit_log WHERE seq = 17')).rows[0].t;
  const part = path.join(dir, `${t.db}-range.jsonl`);
  r = await cli(t.conf, 'audit', 'export', '--from', from, '--to', to, '--out', part);
  assert.equal(r.code, 0, r.stderr);
  const pl = fs.readFileSync(part, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(pl.filter((l) => l.type === 'record').map((l) => l.seq), [9, 10, 11, 12, 13, 14, 15, 16]);
  r = await cli(offline, 'audit', 'verify', '--file', part, '--pubkey', pub);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /export of a range: 8 records, 1 checkpoints, signed up to seq 15/);
});

test('keys status counts data keys per master key version and flags missing versions', async () => {
  const t = await freshDb();
  await sql(t.db, `WITH c AS (INSERT INTO contact (channel) VALUES ('web') RETURNING id),
      v AS (INSERT INTO conversation (contact_id, channel) SELECT id, 'web' FROM c, generate_series(1, 3) RETURNING id)
    INSERT INTO data_key (conversation_id, key_version, wrapped)
    SELECT id, CASE WHEN row_number() OVER () = 3 THEN 7 ELSE 1 END, '\\x00' FROM v`);
  const r = await cli(t.conf, 'keys', 'status');
  assert.equal(r.code, 1, r.stdout + r.stderr); // v7 is not in the key file
  assert.match(r.stdout, /current version: v1/);
  assert.match(r.stdout, /v1\s+yes\s+2\s+\(current\)/);
  assert.match(r.stdout, /v7\s+NO\s+1\s+MISSING KEY/);
  assert.doesNotMatch(r.stdout + r.stderr, /[A-Za-z0-9+/]{43}=/); // no key material printed
  await sql(t.db, 'DELETE FROM data_key WHERE key_version = 7');
  const ok = await cli(t.conf, 'keys', 'status');
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});

test('keys refuse a master key file readable by others [KEY-1]', async () => {
  const st = path.join(dir, 'loose');
  fs.mkdirSync(st, { mode: 0o700 });
  const conf = path.join(dir, 'loose.conf');
  fs.writeFileSync(conf, `state_dir = ${st}\ndatabase_url = host=${dir} dbname=postgres user=postgres\n`);
  assert.equal((await cli(conf, 'keys', 'init')).code, 0);
  const before = fs.readFileSync(path.join(st, 'master.key'));
  assert.equal((await cli(conf, 'keys', 'init')).code, 0);
  assert.deepEqual(fs.readFileSync(path.join(st, 'master.key')), before); // never overwritten
  fs.chmodSync(path.join(st, 'master.key'), 0o644);
  const r = await cli(conf, 'keys', 'status');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /mode 0644 .*refusing/);
});
