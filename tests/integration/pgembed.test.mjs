// SPDX-License-Identifier: Apache-2.0
//
// The embedded PostgreSQL under `caregate serve`: no TCP, a private socket directory,
// supervision (postgres killed -> restarted), a kill -9 of the gateway takes postgres
// down with it and the next start recovers (stale postmaster.pid), and SIGTERM stops
// both cleanly. Data written before each crash must still be there afterwards.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, addStaff, pgQuery } from './lib/harness.mjs';

const PW = 'correct horse battery staple';

function postmasterPid(gw) {
  try {
    return parseInt(readFileSync(join(gw.stateDir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0], 10);
  } catch {
    return 0;
  }
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function readyz(gw) {
  try { return (await fetch(`${gw.url}/readyz`)).status; } catch { return 0; }
}

describe('embedded PostgreSQL supervised by serve', () => {
  let gw;
  before(async () => { gw = await startGateway(); });
  after(async () => { await gw?.cleanup(); });

  test('unix socket only, private directory, no TCP', async () => {
    const run = statSync(join(gw.stateDir, 'pg', 'run'));
    assert.equal(run.mode & 0o777, 0o700);
    assert.equal(statSync(join(gw.stateDir, 'pg', 'data')).mode & 0o077, 0);
    const r = await pgQuery(gw, "SELECT current_setting('listen_addresses') AS l, current_setting('fsync') AS f, current_setting('server_encoding') AS e");
    assert.deepEqual(r.rows[0], { l: '', f: 'on', e: 'UTF8' });
    const s = await pgQuery(gw, "SELECT rolsuper FROM pg_roles WHERE rolname = 'caregate'");
    assert.deepEqual(s.rows, [{ rolsuper: true }]);
  });

  test('postgres killed with SIGKILL is restarted and the gateway becomes ready again', async () => {
    await addStaff(gw, 'before.crash@demo-clinic.example', 'agent', PW);
    const old = postmasterPid(gw);
    assert.ok(old > 0 && alive(old));
    process.kill(old, 'SIGKILL');
    await until(async () => { const p = postmasterPid(gw); return p > 0 && p !== old && alive(p); }, 30000, 'a new postmaster');
    await until(async () => (await readyz(gw)) === 200, 30000, '/readyz 200 after the restart');
    const r = await pgQuery(gw, "SELECT count(*)::int AS n FROM staff WHERE email = 'before.crash@demo-clinic.example'");
    assert.equal(r.rows[0].n, 1);
    assert.match(gw.logs(), /postgres exited/);
  });

  test('kill -9 of the gateway takes postgres down; the next start recovers', async () => {
    const pid = postmasterPid(gw);
    assert.ok(pid > 0);
    await gw.kill9();
    await until(async () => !alive(pid), 20000, 'the orphaned postmaster to exit (PDEATHSIG)');
    gw = await startGateway({ stateDir: gw.stateDir, port: gw.port, ownDir: true });
    const r = await pgQuery(gw, "SELECT count(*)::int AS n FROM staff WHERE email = 'before.crash@demo-clinic.example'");
    assert.equal(r.rows[0].n, 1);
  });

  test('SIGTERM stops the gateway and postgres cleanly', async () => {
    const pid = postmasterPid(gw);
    const { code } = await gw.stop('SIGTERM');
    assert.equal(code, 0, gw.logs().slice(-2000));
    assert.equal(alive(pid), false);
    assert.equal(existsSync(join(gw.stateDir, 'pg', 'data', 'postmaster.pid')), false);
    assert.match(gw.logs(), /database system is shut down/);
  });
});
