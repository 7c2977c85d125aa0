// SPDX-License-Identifier: Apache-2.0
//
// The database CLI against the embedded PostgreSQL: `caregate migrate [--check]`,
// `caregate user add|disable|list`, config errors. The CLI part runs without a gateway
// (each command starts the embedded cluster on demand and stops it again); the last
// block runs the commands against a running gateway's cluster and checks what they leave
// in the database and what a running gateway hears (NOTIFY caregate_staff).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { makeStateDir, startGateway, addStaff, pgQuery } from './lib/harness.mjs';

const DOMAIN = 'demo-clinic.example';
const PW = 'correct horse battery staple';

describe('CLI with the embedded cluster started on demand', () => {
  let st;
  before(async () => { st = await makeStateDir({ config: { staff_email_domains: `${DOMAIN} praxis.example` } }); });
  after(async () => { await st?.cleanup(); });

  test('migrate --check on a fresh cluster lists pending migrations and exits 1', async () => {
    const r = await st.cli(['migrate', '--check']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /pending 001_core/);
    assert.ok(existsSync(join(st.stateDir, 'pg', 'data', 'PG_VERSION')), 'initdb ran');
  });

  test('migrate applies everything, a second run is a no-op, --check then exits 0', async () => {
    const r1 = await st.cli(['migrate']);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /applied 001_core/);
    assert.match(r1.stdout, /up to date/);
    const r2 = await st.cli(['migrate']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.doesNotMatch(r2.stdout, /applied/);
    const r3 = await st.cli(['migrate', '--check']);
    assert.equal(r3.code, 0, r3.stdout + r3.stderr);
    assert.doesNotMatch(r3.stdout, /pending/);
  });

  test('the CLI leaves no postgres running behind it', async () => {
    const pidFile = join(st.stateDir, 'pg', 'data', 'postmaster.pid');
    assert.equal(existsSync(pidFile), false, 'postmaster.pid removed by a clean shutdown');
  });

  test('migrate rejects unknown arguments with usage (exit 2)', async () => {
    const r = await st.cli(['migrate', '--force']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage/);
  });

  test('user add: clinic domains only, with a clear message', async () => {
    const r = await st.cli(['user', 'add', '--email', 'someone@gmail.com', '--role', 'agent'], { input: PW + '\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /staff_email_domains/);
    const sub = await st.cli(['user', 'add', '--email', `x@sub.${DOMAIN}`, '--role', 'agent'], { input: PW + '\n' });
    assert.equal(sub.code, 1, 'a subdomain is not the clinic domain');
  });

  test('user add: short password and bad role are refused', async () => {
    const r = await st.cli(['user', 'add', '--email', `bob@${DOMAIN}`, '--role', 'agent'], { input: 'short pw\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /at least 12 characters/);
    const e = await st.cli(['user', 'add', '--email', `bob@${DOMAIN}`, '--role', 'root'], { input: PW + '\n' });
    assert.equal(e.code, 2);
    const none = await st.cli(['user', 'add', '--email', `bob@${DOMAIN}`, '--role', 'agent'], { input: '' });
    assert.equal(none.code, 1, 'no password on stdin');
  });

  test('user add, duplicate (any case), list, disable', async () => {
    const a = await st.cli(['user', 'add', '--email', `anna.maria-schmidt@${DOMAIN}`, '--role', 'agent'], { input: PW + '\n' });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /added staff [0-9a-f-]{36} role=agent alias=Anna\n/);
    assert.doesNotMatch(a.stderr, /anna/i, 'the e-mail address never reaches the log');

    const b = await st.cli(['user', 'add', '--email', `dora@praxis.example`, '--role', 'dpo', '--alias', 'Datenschutz'], { input: PW + '\r\n' });
    assert.equal(b.code, 0, b.stderr);

    const dup = await st.cli(['user', 'add', '--email', `Anna.Maria-Schmidt@${DOMAIN.toUpperCase()}`, '--role', 'admin'], { input: PW + '\n' });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);

    let l = await st.cli(['user', 'list']);
    assert.equal(l.code, 0, l.stderr);
    const rows = l.stdout.trim().split('\n').map((x) => x.split('\t'));
    assert.deepEqual(rows[0], ['email', 'role', 'alias', 'disabled']);
    assert.deepEqual(rows.slice(1), [
      [`anna.maria-schmidt@${DOMAIN}`, 'agent', 'Anna', 'no'],
      ['dora@praxis.example', 'dpo', 'Datenschutz', 'no'],
    ]);

    const d = await st.cli(['user', 'disable', '--email', `ANNA.maria-schmidt@${DOMAIN}`]);
    assert.equal(d.code, 0, d.stderr);
    l = await st.cli(['user', 'list']);
    assert.match(l.stdout, new RegExp(`anna.maria-schmidt@${DOMAIN}\tagent\tAnna\tyes`));

    const missing = await st.cli(['user', 'disable', '--email', `nobody@${DOMAIN}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no account/);
  });

  test('user without a subcommand prints usage (exit 2)', async () => {
    const r = await st.cli(['user']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage/);
  });
});

describe('config errors stop with file:line', () => {
  let st;
  before(async () => { st = await makeStateDir(); });
  after(async () => { await st?.cleanup(); });

  test('an unknown key names file, line and key; nothing is started', async () => {
    const good = readFileSync(st.configPath, 'utf8');
    const lines = good.trimEnd().split('\n');
    lines.push('# a comment', 'no_such_key = 1');
    writeFileSync(st.configPath, lines.join('\n') + '\n');
    for (const args of [['config', 'check'], ['migrate'], ['user', 'list']]) {
      const r = await st.cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${st.configPath}:${lines.length}: unknown key 'no_such_key'`), r.stderr);
    }
    assert.equal(existsSync(join(st.stateDir, 'pg')), false, 'no cluster created on a bad config');
    writeFileSync(st.configPath, good);
  });

  test('an out-of-range value names the key and the range', async () => {
    const good = readFileSync(st.configPath, 'utf8');
    writeFileSync(st.configPath, good + 'db_connections = 0\n');
    const r = await st.cli(['config', 'check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /:\d+: key 'db_connections': 0 is out of range \[1, 64\]/);
    writeFileSync(st.configPath, good);
  });
});

describe('CLI against a running gateway', () => {
  let gw;
  before(async () => { gw = await startGateway({ config: { staff_email_domains: DOMAIN } }); });
  after(async () => { await gw?.cleanup(); });

  test('serve migrated the embedded database; migrate --check agrees', async () => {
    const r = await gw.cli(['migrate', '--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = await pgQuery(gw, 'SELECT count(*)::int AS n, min(name) AS first FROM schema_migrations');
    assert.ok(v.rows[0].n >= 1);
    assert.equal(v.rows[0].first, '001_core');
  });

  test('user add stores an argon2id hash, never the password; audit details hold no e-mail', async () => {
    const email = `eva.k@${DOMAIN}`;
    const id = await addStaff(gw, email, 'admin', PW);
    const r = await pgQuery(gw, 'SELECT email, role, alias, password_hash FROM staff WHERE id = $1', [id]);
    assert.equal(r.rows[0].role, 'admin');
    assert.equal(r.rows[0].alias, 'Eva');
    assert.match(r.rows[0].password_hash, /^\$argon2id\$/);
    assert.ok(!r.rows[0].password_hash.includes(PW));
    assert.ok(!gw.logs().includes(email), 'e-mail not in the gateway log');
    const a = await pgQuery(gw, "SELECT event, actor, subject, details FROM audit_log WHERE subject = 'staff:' || $1", [id]);
    assert.deepEqual(a.rows.map((x) => [x.event, x.actor, JSON.parse(x.details)]), [['account.provisioned', 'cli', { role: 'admin' }]]);
    const all = await pgQuery(gw, 'SELECT * FROM audit_log');
    assert.ok(!JSON.stringify(all.rows).includes(email), 'no e-mail anywhere in the audit log');
  });

  test('user disable revokes sessions and notifies running gateways', async () => {
    const email = `max@${DOMAIN}`;
    const id = await addStaff(gw, email, 'agent', PW);
    await pgQuery(gw, "INSERT INTO staff_session (token_hash, staff_id, expires_at) VALUES ('\\x01', $1, now() + interval '1 hour')", [id]);
    const listener = new pg.Client({ host: join(gw.stateDir, 'pg', 'run'), user: 'caregate', database: 'caregate' });
    await listener.connect();
    try {
      await listener.query('LISTEN caregate_staff');
      const heard = new Promise((resolve) => listener.on('notification', (n) => resolve(n)));
      const r = await gw.cli(['user', 'disable', '--email', email]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /1 session\(s\) revoked/);
      const n = await Promise.race([heard, new Promise((_, rej) => setTimeout(() => rej(new Error('no NOTIFY')), 5000))]);
      assert.equal(n.channel, 'caregate_staff');
      assert.equal(n.payload, id);
    } finally {
      await listener.end();
    }
    const s = await pgQuery(gw, 'SELECT revoked_at IS NOT NULL AS revoked FROM staff_session WHERE staff_id = $1', [id]);
    assert.deepEqual(s.rows, [{ revoked: true }]);
    const u = await pgQuery(gw, 'SELECT disabled_at IS NOT NULL AS disabled FROM staff WHERE id = $1', [id]);
    assert.deepEqual(u.rows, [{ disabled: true }]);
    const a = await pgQuery(gw, "SELECT event, details FROM audit_log WHERE subject = 'staff:' || $1 ORDER BY seq", [id]);
    assert.deepEqual(a.rows.map((x) => x.event), ['account.provisioned', 'account.disabled']);
    assert.deepEqual(JSON.parse(a.rows[1].details), { role: 'agent' });
  });

  test('the CLI does not stop a cluster it did not start', async () => {
    const r = await gw.cli(['user', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});
