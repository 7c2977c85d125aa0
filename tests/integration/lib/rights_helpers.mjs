// SPDX-License-Identifier: Apache-2.0
// Helpers shared by retention.test.mjs, rotation.test.mjs and rights.test.mjs: an external
// throwaway cluster with one prepared gateway config, conversations made by real patient
// sockets, exports read back, and a byte search through a directory tree (the canary
// test). Built on the server fixtures (lib/server_fixture.mjs); nothing here is specific
// to one test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as F from './server_fixture.mjs';

export { F };

// Always open (no automatic out-of-hours replies), so message counts are exact.
const ALL_DAY = ['00:00-24:00'];
export const POLICY = {
  office_hours: { mon: ALL_DAY, tue: ALL_DAY, wed: ALL_DAY, thu: ALL_DAY, fri: ALL_DAY, sat: ALL_DAY, sun: ALL_DAY },
  holidays: [],
  retention: {
    classes: { general: 365, appointment: 90, documentation: 3650 },
    defaults: { web: 'general', whatsapp: 'general', messenger: 'general', instagram: 'general' },
  },
};

// A cluster, a prepared config (migrations, keys) and a temp dir. extra: config keys.
export function setup(extra = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-rights-'));
  const cluster = new F.Cluster();
  cluster.start();
  const policy = path.join(dir, 'policy.json');
  fs.writeFileSync(policy, JSON.stringify(POLICY));
  const config = F.prepare(cluster, dir, { policy_file: policy, ...extra });
  return { dir, cluster, config };
}

export function teardown(env) {
  F.stopAll();
  if (env) {
    env.cluster.destroy();
    fs.rmSync(env.dir, { recursive: true, force: true });
  }
}

// Opens a patient socket, sends texts (each acknowledged), returns { ws, conv, ids }.
export async function converse(gw, texts, { keepOpen = false } = {}) {
  const ws = await F.patient(gw);
  const ids = [];
  for (const [i, text] of texts.entries()) {
    const client_id = `c${i}-${Math.random().toString(36).slice(2)}`;
    ws.sendJson({ type: 'msg', client_id, text });
    const ack = await ws.next((m) => m.type === 'ack' && m.client_id === client_id);
    ids.push(ack.id);
  }
  if (!keepOpen) ws.close();
  return { ws, conv: ws.welcome.conversation, ids };
}

// Marks a conversation done with a given close time and retention class.
export function closeConv(cluster, conv, closedAt, cls = 'general') {
  cluster.psql(`UPDATE conversation SET status = 'done', closed_at = '${closedAt}', ` +
    `retention_class = '${cls}' WHERE id = '${conv}'`);
}

// Runs the CLI asynchronously (the event loop keeps serving the load generators).
export function cliAsync(config, args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(F.BIN, ['--config', config, ...args], { env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

// Audit events (event, subject, details) when the audit log exists, else null.
export function auditEvents(cluster, like = '%') {
  if (cluster.psql("SELECT to_regclass('audit_log') IS NOT NULL") !== 't') return null;
  const rows = cluster.psql(`SELECT event || '|' || subject || '|' || details FROM audit_log ` +
    `WHERE event LIKE '${like}' ORDER BY seq`);
  return rows ? rows.split('\n').map((l) => {
    const [event, subject, ...rest] = l.split('|');
    return { event, subject, details: JSON.parse(rest.join('|')) };
  }) : [];
}

// Exports one conversation (or contact) and returns the parsed JSON and the HTML text.
export function exportOf(env, { conversation, contact, as } = {}) {
  const out = fs.mkdtempSync(path.join(env.dir, 'export-'));
  const args = ['export', '--out', out];
  if (conversation) args.push('--conversation', conversation);
  if (contact) args.push('--contact', contact);
  if (as) args.push('--as', as);
  const r = F.cli(env.config, args);
  const id = conversation || contact;
  const jf = path.join(out, `caregate-export-${id}.json`);
  const res = { r, out, files: fs.readdirSync(out) };
  if (r.status === 0) {
    res.json = JSON.parse(fs.readFileSync(jf, 'utf8'));
    res.html = fs.readFileSync(path.join(out, `caregate-export-${id}.html`), 'utf8');
    res.mode = fs.statSync(jf).mode & 0o777;
  }
  return res;
}

// Every message text of an export, in order.
export function texts(json) {
  return json.conversations.flatMap((c) => c.messages.map((m) => m.text));
}

// Files under root whose bytes contain needle (utf-8). Unreadable files are skipped.
export function filesContaining(root, needle) {
  const hits = [];
  const want = Buffer.from(needle, 'utf8');
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try { if (fs.readFileSync(p).includes(want)) hits.push(p); } catch { /* skip */ }
      }
    }
  };
  walk(root);
  return hits;
}

export function addStaffRow(cluster, email, role, disabled = false) {
  cluster.psql(`INSERT INTO staff (email, role, alias, password_hash, disabled_at) VALUES ` +
    `('${email}', '${role}', 'X', 'not-a-hash', ${disabled ? 'now()' : 'NULL'})`);
}

// Stops a gateway and checks it exited 0 with nothing from the sanitizers in its log (the
// sanitizer lane turns a leak or undefined behaviour at exit into a non-zero status).
export async function stopClean(gw) {
  const { code, sig } = await F.stopGateway(gw);
  if (code !== 0 || /runtime error|LeakSanitizer|AddressSanitizer/.test(gw.logs))
    throw new Error(`gateway exit ${code} ${sig}:\n${gw.logs.slice(-3000)}`);
}

export async function waitFor(fn, ms = 15000, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await F.sleep(step);
  }
}
