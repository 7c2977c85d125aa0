// SPDX-License-Identifier: Apache-2.0
// Fixtures for the gateway protocol, bad-input and durability tests: a throwaway
// PostgreSQL cluster (unix socket only), caregate processes pointed at it with
// database_url, and small WebSocket clients that queue incoming frames so a test can
// `await next(type)`. Every process started here is stopped by stopAll().
// The generic harness (tests/integration/lib/harness.mjs) covers the embedded-cluster
// path; these fixtures exist because the durability tests need several gateways on one
// external database and must restart PostgreSQL under them.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

export const BIN = process.env.CAREGATE_BIN || path.resolve('build/normal/gateway/caregate');
export const SRC = process.env.CAREGATE_SRC || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const PGBIN = '/usr/lib/postgresql/15/bin';
const ORIGIN = 'http://localhost:8080';
export { ORIGIN };

const children = new Set();
const isRoot = process.getuid && process.getuid() === 0;

function asPg(cmd, args, opts = {}) {
  if (isRoot) return spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', ...opts });
  return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
}

export class Cluster {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-pg-'));
    this.data = path.join(this.dir, 'data');
    this.sock = this.dir;
    this.port = 50000 + Math.floor(Math.random() * 10000);
    if (isRoot) execFileSync('chown', ['postgres', this.dir]);
    fs.chmodSync(this.dir, 0o755);
    const r = asPg(`${PGBIN}/initdb`, ['-D', this.data, '-A', 'trust', '-U', 'caregate', '--no-sync', '-E', 'UTF8']);
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr}`);
  }
  get url() { return `host=${this.sock} port=${this.port} user=caregate dbname=caregate`; }
  start() {
    const r = asPg(`${PGBIN}/pg_ctl`, ['-D', this.data, '-w', '-l', path.join(this.dir, 'pg.log'), '-o',
      `-k ${this.sock} -p ${this.port} -c listen_addresses='' -c fsync=on`, 'start']);
    if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.stderr}${r.stdout}`);
    if (!this.created) {
      const c = spawnSync('psql', ['-h', this.sock, '-p', String(this.port), '-U', 'caregate', '-d', 'postgres', '-qc', 'CREATE DATABASE caregate'], { encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`createdb failed: ${c.stderr}`);
      this.created = true;
    }
  }
  stop(mode = 'fast') { asPg(`${PGBIN}/pg_ctl`, ['-D', this.data, '-w', '-m', mode, 'stop']); }
  postmasterPid() { return Number(fs.readFileSync(path.join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]); }
  psql(sql) {
    const r = spawnSync('psql', ['-h', this.sock, '-p', String(this.port), '-U', 'caregate', '-d', 'caregate', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  }
  destroy() { this.stop('immediate'); fs.rmSync(this.dir, { recursive: true, force: true }); }
}

export function writeConfig(dir, extra = {}) {
  const cfg = {
    port: 0, listen_address: '127.0.0.1', state_dir: path.join(dir, 'state'),
    allowed_origins: `"${ORIGIN} http://127.0.0.1:8080"`, log_level: 'info',
    widget_dir: path.join(SRC, 'widget'), ...extra,
  };
  // Office hours depend on the clock: unless a test brings its own policy, the gateway gets
  // one that is always open, so no automatic out-of-hours reply appears in conversations.
  if (!('policy_file' in extra)) {
    const day = ['00:00-24:00'];
    const pf = path.join(dir, 'policy-always-open.json');
    fs.writeFileSync(pf, JSON.stringify({ office_hours: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day } }));
    cfg.policy_file = `"${pf}"`;
  }
  fs.mkdirSync(cfg.state_dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'caregate.conf');
  fs.writeFileSync(file, Object.entries(cfg).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  return file;
}

export function cli(config, args, input) {
  return spawnSync(BIN, ['--config', config, ...args], { encoding: 'utf8', input, timeout: 60000 });
}

// Prepares a database (migrations, master key) for gateways using database_url.
export function prepare(cluster, dir, extra = {}) {
  const config = writeConfig(dir, { database_url: `"${cluster.url}"`, ...extra });
  const k = cli(config, ['keys', 'init']);
  if (k.status !== 0 && !/not built/.test(k.stderr) && !/exist/.test(k.stderr + k.stdout))
    throw new Error(`keys init: ${k.stderr}`);
  const m = cli(config, ['migrate']);
  if (m.status !== 0) {
    if (!/not built/.test(m.stderr)) throw new Error(`migrate: ${m.stderr}`);
    for (const f of fs.readdirSync(path.join(SRC, 'gateway/sql')).filter((x) => x.endsWith('.sql')).sort())
      cluster.psql(fs.readFileSync(path.join(SRC, 'gateway/sql', f), 'utf8'));
  }
  return config;
}

export async function startGateway(config, { env = {} } = {}) {
  const p = spawn(BIN, ['--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(p);
  p.logs = '';
  p.stderr.on('data', (d) => { p.logs += d; });
  p.exited = new Promise((res) => p.on('exit', (code, sig) => { children.delete(p); res({ code, sig }); }));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`gateway did not start:\n${p.logs}`)), 60000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`gateway exited ${code}:\n${p.logs}`)); });
  });
  p.url = url;
  p.port = Number(new URL(url).port);
  return p;
}

export async function stopGateway(p, signal = 'SIGTERM') {
  if (p.exitCode !== null || p.signalCode !== null) return p.exited;
  p.kill(signal);
  return p.exited;
}

export function stopAll() { for (const p of children) p.kill('SIGKILL'); }

// A WebSocket client whose frames can be awaited in order.
export function wsConnect(gw, which, { origin = ORIGIN, cookie, maxPayload } = {}) {
  const proto = which === 'patient' ? 'caregate.patient.v1' : 'caregate.staff.v1';
  const headers = cookie ? { cookie } : {};
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/${which}`, proto, { origin, headers, maxPayload });
  ws.frames = [];
  ws.waiters = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    ws.frames.push(m);
    ws.waiters = ws.waiters.filter((w) => !w.check());
  });
  ws.closed = new Promise((res) => ws.on('close', (code, reason) => { res({ code, reason: reason.toString() }); ws.waiters.forEach((w) => w.check()); }));
  ws.opened = new Promise((res, rej) => {
    ws.on('open', res);
    ws.on('unexpected-response', (req, resp) => rej(Object.assign(new Error(`HTTP ${resp.statusCode}`), { status: resp.statusCode })));
    ws.on('error', rej);
  });
  // next(pred): resolves with (and removes) the first frame matching pred
  ws.next = (pred, ms = 10000) => {
    const f = typeof pred === 'string' ? (m) => m.type === pred : pred;
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = ws.frames.findIndex(f);
          if (i >= 0) { clearTimeout(w.t); resolve(ws.frames.splice(i, 1)[0]); return true; }
          return false;
        },
      };
      if (w.check()) return;
      w.t = setTimeout(() => { ws.waiters = ws.waiters.filter((x) => x !== w); reject(new Error(`timeout waiting for frame; have ${JSON.stringify(ws.frames)}`)); }, ms);
      ws.waiters.push(w);
    });
  };
  ws.sendJson = (o) => ws.send(JSON.stringify(o));
  return ws;
}

export async function patient(gw, session = null) {
  const ws = wsConnect(gw, 'patient');
  await ws.opened;
  ws.sendJson({ type: 'hello', session, lang: 'de' });
  ws.welcome = await ws.next('welcome');
  return ws;
}

export function addStaff(config, email, password, role = 'agent', alias = 'Anna') {
  const r = cli(config, ['user', 'add', '--email', email, '--role', role, '--alias', alias], `${password}\n`);
  if (r.status !== 0) throw new Error(`user add: ${r.stderr}`);
}

export async function login(gw, email, password) {
  const r = await fetch(`http://127.0.0.1:${gw.port}/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({ email, password }),
  });
  const body = await r.json();
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  return { status: r.status, body, cookie, setCookie: r.headers.get('set-cookie') };
}

export async function staff(gw, cookie) {
  const ws = wsConnect(gw, 'staff', { cookie });
  await ws.opened;
  ws.welcome = await ws.next('welcome');
  ws.queue = await ws.next('queue');
  return ws;
}

export function userCliBuilt(config) {
  return !/not built/.test(cli(config, ['user', 'list']).stderr);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
