// SPDX-License-Identifier: Apache-2.0
// Master-key rotation (issue 5) against the real binary: rotation while patients keep
// writing through a running gateway (which must learn the new version from NOTIFY
// caregate_keys), then no data key is left on the old version and every acknowledged
// message decrypts; a kill -9 in the middle and a rerun that resumes the same version;
// retirement refused while a version is in use; `keys status` counts per version.
// Requirement id: KEY-3.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { stopClean } from './lib/rights_helpers.mjs';
import { F, setup, teardown, converse, cliAsync, exportOf, texts } from './lib/rights_helpers.mjs';

const envs = [];
after(() => { for (const e of envs) teardown(e); });

function fresh(extra) {
  const e = setup(extra);
  envs.push(e);
  return e;
}

const versions = (env) => env.cluster.psql(
  "SELECT string_agg(key_version || ':' || n, ',' ORDER BY key_version) FROM " +
  '(SELECT key_version, count(*) n FROM data_key GROUP BY 1) s');
const keyFileVersions = (env) => fs.readFileSync(`${env.dir}/state/master.key`, 'utf8')
  .split('\n').filter((l) => /^v\d+ /.test(l)).map((l) => l.split(' ')[0]);

// Every acknowledged text of every conversation decrypts in the export.
function assertAllReadable(env, sent) {
  for (const [conv, want] of sent) {
    const e = exportOf(env, { conversation: conv });
    assert.equal(e.r.status, 0, e.r.stderr);
    const got = texts(e.json);
    for (const t of want) assert.ok(got.includes(t), `conversation ${conv}: "${t}" missing or unreadable`);
    fs.rmSync(e.out, { recursive: true, force: true });
  }
}

test('KEY-3: keys rotate under load leaves no data key on the old version and loses nothing', async () => {
  const env = fresh({ rate_limit_per_minute: 100000, rate_limit_burst: 100000 });
  const gw = await F.startGateway(env.config);
  const sent = new Map();
  for (let i = 0; i < 30; i++) {
    const t = [`before ${i}`];
    sent.set((await converse(gw, t)).conv, t);
  }
  assert.equal(versions(env), '1:30');

  // Load: 6 patients writing continuously, and new patients (new data keys) arriving.
  let stop = false;
  const writers = [];
  for (let w = 0; w < 6; w++) {
    writers.push((async () => {
      const p = await converse(gw, [`writer ${w} hello`], { keepOpen: true });
      const mine = [`writer ${w} hello`];
      sent.set(p.conv, mine);
      for (let n = 0; !stop; n++) {
        const text = `writer ${w} message ${n}`;
        p.ws.sendJson({ type: 'msg', client_id: `w${w}-${n}`, text });
        await p.ws.next((m) => m.type === 'ack' && m.client_id === `w${w}-${n}`);
        mine.push(text);
      }
      p.ws.close();
    })());
  }
  const arrivals = (async () => {
    for (let n = 0; !stop; n++) {
      const t = [`arrival ${n}`];
      sent.set((await converse(gw, t)).conv, t);
      await F.sleep(30);
    }
  })();

  await F.sleep(300);
  const r = await cliAsync(env.config, ['keys', 'rotate', '--batch', '5'], { CAREGATE_ROTATE_SETTLE_MS: '500' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rotated to v2/);
  assert.match(r.stderr, /keys: re-wrapping \[#+\]/); // progress bar
  await F.sleep(300); // keep writing a little after the rotation
  stop = true;
  await Promise.all([...writers, arrivals]);

  // The gateway reloaded: conversations created after the rotation use v2 as well.
  const late = await converse(gw, ['after rotation']);
  sent.set(late.conv, ['after rotation']);
  assert.match(gw.logs, /keys: reloaded: 1 new version/);
  const v = versions(env);
  assert.match(v, /^2:\d+$/, `data keys by version: ${v}`);
  assert.equal(keyFileVersions(env).join(' '), 'v1 v2');

  // keys status: counts per version (the old one is unused now).
  const st = F.cli(env.config, ['keys', 'status']);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /v1\s+yes\s+0/);
  assert.match(st.stdout, new RegExp(`v2\\s+yes\\s+${v.split(':')[1]}\\s+\\(current\\)`));
  assertAllReadable(env, sent);
  await stopClean(gw);
  // And after a restart, with the file as the only source of keys.
  const gw2 = await F.startGateway(env.config);
  assertAllReadable(env, [[late.conv, ['after rotation']]]);
  await stopClean(gw2);
});

test('KEY-3: kill -9 during rotation; the rerun resumes the same version and completes', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const sent = new Map();
  for (let i = 0; i < 24; i++) {
    const t = [`text ${i}`];
    sent.set((await converse(gw, t)).conv, t);
  }
  // Steps: 1 rotation row, 2 key file, 3 first batch, 4 second batch -> killed.
  const r = await cliAsync(env.config, ['keys', 'rotate', '--batch', '4'],
    { CAREGATE_TEST_CRASH_AFTER: '4', CAREGATE_ROTATE_SETTLE_MS: '100' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.equal(versions(env), '1:16,2:8');
  assert.equal(keyFileVersions(env).join(' '), 'v1 v2');
  assert.deepEqual(fs.readdirSync(`${env.dir}/state`).filter((f) => f.includes('.tmp.')), []);
  // Half-way is a working state: everything still decrypts.
  assertAllReadable(env, [...sent].slice(0, 3));

  const r2 = await cliAsync(env.config, ['keys', 'rotate', '--batch', '4'], { CAREGATE_ROTATE_SETTLE_MS: '100' });
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /resuming the unfinished rotation to v2/);
  assert.equal(versions(env), '2:24');
  assert.equal(keyFileVersions(env).join(' '), 'v1 v2'); // no v3 was created
  assertAllReadable(env, sent);

  // A crash before the key file was written (step 1) also resumes with the same number.
  const r3 = await cliAsync(env.config, ['keys', 'rotate'], { CAREGATE_TEST_CRASH_AFTER: '1' });
  assert.equal(r3.signal, 'SIGKILL');
  assert.equal(keyFileVersions(env).join(' '), 'v1 v2');
  const r4 = await cliAsync(env.config, ['keys', 'rotate'], { CAREGATE_ROTATE_SETTLE_MS: '100' });
  assert.equal(r4.status, 0, r4.stderr);
  assert.equal(keyFileVersions(env).join(' '), 'v1 v2 v3');
  assert.equal(versions(env), '3:24');
  await stopClean(gw);
});

test('KEY-3: keys retire is refused while a data key uses the version, then removes it', async () => {
  const env = fresh();
  const gw = await F.startGateway(env.config);
  const a = await converse(gw, ['kept readable']);
  let r = F.cli(env.config, ['keys', 'retire', '--version', '1']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /still wrapped by v1|current version/);
  r = await cliAsync(env.config, ['keys', 'rotate'], { CAREGATE_ROTATE_SETTLE_MS: '100' });
  assert.equal(r.status, 0, r.stderr);
  // A data key put back on v1 (as a gateway that never reloaded would write) blocks retiring.
  const saved = env.cluster.psql(`SELECT key_version FROM data_key WHERE conversation_id = '${a.conv}'`);
  assert.equal(saved, '2');
  r = F.cli(env.config, ['keys', 'retire', '--version', '2']);
  assert.notEqual(r.status, 0); // the current version can never be retired
  r = F.cli(env.config, ['keys', 'retire', '--version', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(keyFileVersions(env).join(' '), 'v2');
  assert.equal(fs.statSync(`${env.dir}/state/master.key`).mode & 0o777, 0o600);
  // Still serving and readable with v2 alone, also after a restart.
  const b = await converse(gw, ['after retire']);
  await stopClean(gw);
  const gw2 = await F.startGateway(env.config);
  assertAllReadable(env, [[a.conv, ['kept readable']], [b.conv, ['after retire']]]);
  await stopClean(gw2);
});
