// SPDX-License-Identifier: Apache-2.0
//
// Integration-test harness: runs the real caregate binary (process.env.CAREGATE_BIN)
// against its embedded PostgreSQL in a throw-away state directory, and gives tests small
// clients for the CLI, SQL, HTTP login and WebSockets. It does not fake anything: no
// mock server, no in-process database. Works as root (CI) and as an ordinary user.
//
// Quick reference (all functions are exported):
//
//   const gw = await startGateway({ config: { clinic_name: 'X' }, env: {}, stateDir });
//     gw.url         'http://127.0.0.1:<port>'  (also the allowed Origin)
//     gw.origin      same as gw.url
//     gw.wsUrl       'ws://127.0.0.1:<port>'
//     gw.port, gw.stateDir, gw.configPath, gw.proc (ChildProcess)
//     gw.logs()      captured stderr text so far; gw.stdout() captured stdout text
//     await gw.waitForLog(/regex/, ms)  resolves with the match once stderr matches
//     await gw.stop('SIGTERM')          -> { code, signal }  (waits for exit; 20 s, then SIGKILL)
//     await gw.kill9()                  -> { code, signal }
//     await gw.restart()                -> a new gw on the same state dir and port
//     await gw.cli(['user', 'list'], { input, env })  -> { code, stdout, stderr }
//     await gw.cleanup()                stop if running, wait for postgres, remove the dir
//     gw.exited      Promise<{ code, signal }> of the serve process
//
//   await startGateway() options: config (extra config keys, override the defaults the
//   harness writes: state_dir, listen_address, port, allowed_origins, log_level),
//   env (extra environment for serve), stateDir (reuse a directory; it is not removed by
//   cleanup unless the harness created it or ownDir is true), port (reuse a port),
//   readyTimeoutMs (default
//   30000, or $CAREGATE_READY_TIMEOUT_MS on slow machines: the first start runs initdb),
//   keysInit (default true: run `caregate keys init` first when the master key file is
//   missing and the command is built in), waitReady (default true).
//
//   const st = await makeStateDir({ config })  -> { stateDir, configPath, port, cli, cleanup }
//     a configured state dir without a running gateway, for CLI-only tests (each CLI call
//     starts the embedded cluster on demand and stops it again).
//
//   await addStaff(gw, email, role, password, { alias })  -> staff id (uuid string)
//   await pgQuery(gw, sql, params)  -> pg Result ({ rows, rowCount, ... }), over the unix
//     socket <stateDir>/pg/run as the cluster superuser "caregate"; needs a running cluster
//     (a gateway, or use gw.cli for CLI-managed data)
//   const cookie = await login(gw, email, password)  -> 'name=value' for a Cookie header
//   const r = await loginRaw(gw, email, password, { origin })  -> { status, body, cookie }
//   const ws = await wsConnect(urlOrGw, protocol, { path, origin, cookie, headers })
//     ws.send(obj)  JSON-encodes and sends
//     await ws.next(pred, ms)  the first received frame (parsed JSON; non-JSON frames are
//       { raw: '<text>' }) for which pred(frame) is true; pred may also be a string,
//       meaning frame.type === pred. Earlier frames that do not match are kept for later
//       next() calls, so the order of awaits does not matter. Rejects on timeout
//       (default 5000 ms) or when the socket closes first.
//     ws.frames  every frame received so far (consumed or not)
//     ws.closed  Promise<{ code, reason }>
//     ws.close(code, reason) -> Promise<{ code, reason }>
//     ws.sendRaw(data)  sends a string or Buffer as is (bad-input tests)
//   wsConnect rejects when the upgrade is refused; the error has .statusCode.
//
//   Lower level: runCli(configPath, args, { input, env, timeoutMs }) and freePort().
//
// Every gateway process still running when the test process exits is SIGKILLed (its
// postgres follows through PDEATHSIG) and harness-created directories are removed,
// unless CAREGATE_KEEP_STATE=1 (then their paths are printed for debugging).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import WebSocket from 'ws';

const BIN = process.env.CAREGATE_BIN;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const KEEP = process.env.CAREGATE_KEEP_STATE === '1';

const live = new Set(); // ChildProcess of running gateways
const ownedDirs = new Set();

process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of ownedDirs) {
    if (KEEP) { process.stderr.write(`caregate state kept: ${d}\n`); continue; }
    try { rmSync(d, { recursive: true, force: true }); } catch { /* postgres may still hold it */ }
  }
});

function requireBin() {
  if (!BIN) throw new Error('CAREGATE_BIN is not set (run through ctest, or export it)');
  return BIN;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function quote(v) {
  const s = String(v);
  if (s.includes('\n')) throw new Error('config values cannot contain newlines');
  // Values are written double-quoted (the parser strips one pair); a value the caller
  // already quoted is written as given.
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s;
  return `"${s}"`;
}

/** Writes a policy file whose office is open around the clock into dir; returns its path. */
export function alwaysOpenPolicy(dir, extra = {}) {
  const day = ['00:00-24:00'];
  const policy = { office_hours: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day }, ...extra };
  const file = join(dir, 'policy-always-open.json');
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

/** Writes caregate.conf into stateDir. Returns its path. */
function writeConfig(stateDir, port, extra) {
  const origin = `http://127.0.0.1:${port}`;
  const base = {
    state_dir: stateDir,
    listen_address: '127.0.0.1',
    port,
    allowed_origins: `${origin} http://localhost:${port}`,
    log_level: 'info',
  };
  // Office hours depend on the clock: unless a test brings its own policy, the gateway gets
  // one that is always open, so no automatic out-of-hours reply appears in conversations.
  if (!extra || !('policy_file' in extra)) base.policy_file = alwaysOpenPolicy(stateDir);
  const all = { ...base, ...(extra || {}) };
  const lines = ['# written by tests/integration/lib/harness.mjs'];
  for (const [k, v] of Object.entries(all)) {
    if (v === undefined || v === null) continue;
    lines.push(`${k} = ${quote(v)}`);
  }
  const configPath = join(stateDir, 'caregate.conf');
  writeFileSync(configPath, lines.join('\n') + '\n', { mode: 0o600 });
  return configPath;
}

function newStateDir() {
  const dir = mkdtempSync(join(tmpdir(), 'caregate-it-'));
  // As root, the embedded PostgreSQL runs as embedded_pg_user and must be able to pass
  // through the state dir (search only; the gateway narrows this itself too).
  if (isRoot) chmodSync(dir, 0o711);
  ownedDirs.add(dir);
  return dir;
}

/**
 * Runs the binary with --config and args. input (string) goes to stdin (stdin is closed
 * either way). Resolves { code, signal, stdout, stderr }; never rejects on a non-zero exit.
 */
export function runCli(configPath, args, { input, env, timeoutMs = 120000 } = {}) {
  const bin = requireBin();
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, ...(env || {}) };
    delete childEnv.CAREGATE_CONFIG;
    const p = spawn(bin, ['--config', configPath, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    p.stdin.on('error', () => { /* the command may not read stdin */ });
    if (input !== undefined) p.stdin.end(input); else p.stdin.end();
  });
}

/** Waits until no postmaster from this state dir is alive (after a stop or kill -9). */
async function waitPgGone(stateDir, timeoutMs = 20000) {
  const pidFile = join(stateDir, 'pg', 'data', 'postmaster.pid');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    let pid = 0;
    try { pid = parseInt(readFileSync(pidFile, 'utf8').split('\n')[0], 10); } catch { return; }
    if (!pid) return;
    try { process.kill(pid, 0); } catch { return; } // ESRCH: stale file, postgres is gone
    await sleep(100);
  }
}

function waitExit(proc, timeoutMs) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  }
  return new Promise((resolve) => {
    const timer = timeoutMs ? setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, timeoutMs) : null;
    proc.once('exit', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code, signal }); });
  });
}

/** A configured state dir without a gateway: for CLI-only tests. */
export async function makeStateDir({ config, stateDir } = {}) {
  const port = await freePort();
  const created = !stateDir;
  const dir = stateDir || newStateDir();
  const configPath = writeConfig(dir, port, config);
  return {
    stateDir: dir,
    configPath,
    port,
    cli: (args, opts) => runCli(configPath, args, opts),
    cleanup: async () => {
      await waitPgGone(dir);
      if (created && !KEEP) { rmSync(dir, { recursive: true, force: true }); ownedDirs.delete(dir); }
    },
  };
}

/**
 * Starts `caregate serve` in a fresh (or given) state dir and waits for GET /readyz 200.
 * Rejects (with the captured stderr in the message) if the process exits first or the
 * timeout passes; the process is killed in that case.
 */
export async function startGateway(opts = {}) {
  const bin = requireBin();
  const { config, env, keysInit = true, waitReady = true } = opts;
  const readyTimeoutMs = opts.readyTimeoutMs || Number(process.env.CAREGATE_READY_TIMEOUT_MS) || 30000;
  const created = !opts.stateDir || !!opts.ownDir;
  const stateDir = opts.stateDir || newStateDir();
  const port = opts.port || (config && config.port) || (await freePort());
  const configPath = writeConfig(stateDir, port, config);
  const url = `http://127.0.0.1:${port}`;

  if (keysInit) {
    const keyFile = (config && config.master_key_file) || join(stateDir, 'master.key');
    if (!existsSync(keyFile)) {
      const r = await runCli(configPath, ['keys', 'init']);
      if (r.code !== 0 && !/not built/.test(r.stderr)) {
        throw new Error(`caregate keys init failed (${r.code}): ${r.stderr}`);
      }
    }
  }

  const childEnv = { ...process.env, ...(env || {}) };
  delete childEnv.CAREGATE_CONFIG;
  const proc = spawn(bin, ['--config', configPath, 'serve'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let errText = '', outText = '';
  const logWaiters = new Set();
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    errText += d;
    for (const w of logWaiters) w();
  });
  proc.stdout.setEncoding('utf8').on('data', (d) => { outText += d; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }); }));

  const gw = {
    url,
    origin: url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    stateDir,
    configPath,
    proc,
    exited,
    logs: () => errText,
    stdout: () => outText,
    cli: (args, o) => runCli(configPath, args, o),
    waitForLog(re, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = errText.match(re);
          if (m) { cleanupW(); resolve(m); }
        };
        const timer = setTimeout(() => { cleanupW(); reject(new Error(`log ${re} not seen within ${timeoutMs} ms`)); }, timeoutMs);
        const cleanupW = () => { clearTimeout(timer); logWaiters.delete(check); };
        logWaiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await waitExit(proc, timeoutMs);
      return r;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return await waitExit(proc, 0);
    },
    async restart(more = {}) {
      await gw.stop();
      await waitPgGone(stateDir);
      return await startGateway({ ...opts, ...more, stateDir, port, ownDir: created, config: { ...(config || {}), ...(more.config || {}) } });
    },
    async cleanup() {
      await gw.stop();
      await waitPgGone(stateDir);
      if (created && !KEEP) { rmSync(stateDir, { recursive: true, force: true }); ownedDirs.delete(stateDir); }
    },
  };
  if (!waitReady) return gw;

  const until = Date.now() + readyTimeoutMs;
  let last = 'no answer';
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`caregate serve exited (${proc.exitCode ?? proc.signalCode}) before ready:\n${errText}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) break;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      await waitExit(proc, 0);
      throw new Error(`caregate serve not ready within ${readyTimeoutMs} ms (last: ${last}):\n${errText}`);
    }
    await sleep(100);
  }
  return gw;
}

/** `caregate user add` through the CLI; resolves the new staff id. Throws on failure. */
export async function addStaff(gw, email, role, password, { alias } = {}) {
  const args = ['user', 'add', '--email', email, '--role', role];
  if (alias) args.push('--alias', alias);
  const r = await gw.cli(args, { input: password + '\n' });
  if (r.code !== 0) throw new Error(`user add failed (${r.code}): ${r.stderr}`);
  const m = r.stdout.match(/added staff ([0-9a-f-]{36})/);
  if (!m) throw new Error(`user add: unexpected output: ${r.stdout}`);
  return m[1];
}

/** One query over the embedded cluster's unix socket. Resolves pg's Result. */
export async function pgQuery(gw, sql, params = []) {
  const client = new pg.Client({ host: join(gw.stateDir, 'pg', 'run'), user: 'caregate', database: 'caregate' });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** POST /api/login; resolves { status, body (parsed JSON or text), cookie ('name=value' or null) }. */
export async function loginRaw(gw, email, password, { origin } = {}) {
  const res = await fetch(`${gw.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: origin ?? gw.origin },
    body: JSON.stringify({ email, password }),
  });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* keep text */ }
  const sc = res.headers.get('set-cookie');
  const cookie = sc ? sc.split(';')[0].trim() : null;
  return { status: res.status, body, cookie };
}

/** Logs in and resolves the session cookie ('name=value'); throws unless 200 with a cookie. */
export async function login(gw, email, password) {
  const r = await loginRaw(gw, email, password);
  if (r.status !== 200 || !r.cookie) {
    throw new Error(`login failed: ${r.status} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
  }
  return r.cookie;
}

/**
 * Opens a WebSocket. urlOrGw is a ws:// or http:// URL (http is turned into ws), or a
 * gateway handle together with opts.path (e.g. '/ws/staff'). protocol is the
 * subprotocol (or null). Origin defaults to the gateway's own origin.
 */
export function wsConnect(urlOrGw, protocol, opts = {}) {
  let url = typeof urlOrGw === 'string' ? urlOrGw : urlOrGw.wsUrl + (opts.path || '');
  url = url.replace(/^http(s?):/, 'ws$1:');
  const u = new URL(url);
  const origin = opts.origin === undefined ? `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}` : opts.origin;
  const headers = { ...(opts.headers || {}) };
  if (opts.cookie) headers.cookie = opts.cookie;
  const wsOpts = { headers, handshakeTimeout: 10000 };
  if (origin) wsOpts.origin = origin;
  const ws = new WebSocket(url, protocol ? [protocol] : [], wsOpts);

  const frames = [];
  const queue = [];
  const waiters = new Set();
  let closeInfo = null;
  let resolveClosed;
  const closed = new Promise((r) => { resolveClosed = r; });

  const client = {
    ws,
    frames,
    closed,
    get protocol() { return ws.protocol; },
    send(obj) { ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); },
    sendRaw(data) { ws.send(data); },
    next(pred, timeoutMs = 5000) {
      const match = typeof pred === 'string' ? (f) => f && f.type === pred : (pred || (() => true));
      return new Promise((resolve, reject) => {
        const w = {
          try() {
            const i = queue.findIndex((f) => { try { return match(f); } catch { return false; } });
            if (i >= 0) { done(); resolve(queue.splice(i, 1)[0]); return true; }
            if (closeInfo) { done(); reject(Object.assign(new Error(`socket closed (${closeInfo.code}) before a matching frame`), closeInfo)); return true; }
            return false;
          },
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no matching frame within ${timeoutMs} ms; unmatched: ${JSON.stringify(queue).slice(0, 500)}`)); }, timeoutMs);
        const done = () => { clearTimeout(timer); waiters.delete(w); };
        if (!w.try()) waiters.add(w);
      });
    },
    close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      return closed;
    },
  };

  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    let f;
    if (text === null) f = { binary: data };
    else { try { f = JSON.parse(text); } catch { f = { raw: text }; } }
    frames.push(f);
    queue.push(f);
    for (const w of [...waiters]) w.try();
  });
  ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString('utf8') };
    resolveClosed(closeInfo);
    for (const w of [...waiters]) w.try();
  });

  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (req, res) => {
      const e = new Error(`WebSocket upgrade refused: ${res.statusCode}`);
      e.statusCode = res.statusCode;
      res.resume();
      ws.terminate?.();
      reject(e);
    });
    ws.on('error', (e) => reject(e)); // later errors: the socket closes and 'close' reports it
  });
}
