// SPDX-License-Identifier: Apache-2.0
// A small in-memory stand-in for the gateway, speaking protocol-v1 (docs/widget.md lists the
// extensions it also speaks) and serving widget/ with the same CSP as the real gateway. It exists
// for fast UI tests and for developing the widget without PostgreSQL; it is NOT the contract: the
// round trip that counts runs against the real binary in widget.test.mjs. Nothing here is secure.
//
//   const fake = await startFakeServer({ office: { open: false, next_open: '…' } });
//   fake.url            http://127.0.0.1:<port>
//   fake.dropSockets()  closes every WebSocket (simulates a lost network / gateway restart)
//   fake.refuse(true)   refuses new WebSocket upgrades until refuse(false)
//   fake.close()
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WIDGET_DIR = path.resolve(HERE, '../../../widget');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.json': 'application/json',
};

// Deliberately crude "redaction" for previews and a crude policy: enough to show the UI paths.
const redactPreview = (s) => s.replace(/\d[\d ./-]{3,}\d/g, '[NUMMER]').slice(0, 80);
const STAFF_BLOCK = [[/ibuprofen|metformin|insulin/i, 'MEDICATION'], [/\b01[5-7]\d[\d ]{6,}/, 'PHONE']];
const PATIENT_BLOCK = [[/\bDE\d{2}[ \d]{16,}/, 'IBAN']];

export async function startFakeServer(opts = {}) {
  const o = {
    root: WIDGET_DIR, clinic: 'Reha-Klinik Sonnenhof', addressForm: 'Sie',
    office: { open: true, next_open: null, first_reply_minutes: 30 }, maxBytes: 8000,
    staff: [{ id: 's1', email: 'anna@demo-clinic.example', password: 'correct horse', role: 'agent', alias: 'Anna' },
      { id: 's2', email: 'dpo@demo-clinic.example', password: 'correct horse', role: 'dpo', alias: 'DSB' },
      { id: 's3', email: 'ben@demo-clinic.example', password: 'correct horse', role: 'agent', alias: 'Ben', on_shift: false }],
    canned: null,        // server canned answers [{id,title,text}]; null: no canned frame (console uses canned.js)
    clinicPhone: null,   // welcome's clinic_phone; null: absent
    privacyVersion: '2026-01', // welcome's privacy_notice.version, as the policy file names it
    privacyText: '',           // welcome's privacy_notice.text ('' when the policy has none)
    ...opts,
  };
  const sessions = new Map();      // token -> conversation id
  const convs = new Map();         // id -> {id,status,channel,assignee,waiting_since,preview,messages,cids,patients:Set}
  const staffSessions = new Map(); // cookie -> staff
  const staffSockets = new Set();
  const overrides = [];            // staff replies sent with "override":true
  const hellos = [];               // every patient hello, as received (privacy_notice recorded)
  let refuse = false;
  let seq = 0;
  const nextId = () => String(++seq);
  const now = () => new Date().toISOString();

  const summary = (c) => ({ type: 'conversation', id: c.id, status: c.status, channel: c.channel, lang: c.lang, assignee: c.assignee,
    waiting_since: c.waiting_since, snoozed_until: c.snoozed_until ?? null, last_message_at: c.messages.at(-1)?.ts ?? null, preview: c.preview, address_form: o.addressForm, unread: c.unread, bridge: c.bridge ?? null });
  const toStaff = (obj) => { for (const s of staffSockets) s.send(JSON.stringify(obj)); };
  const toPatients = (c, obj) => { for (const s of c.patients) s.send(JSON.stringify(obj)); };
  const pub = (m) => ({ type: 'msg', id: m.id, from: m.from, author: m.author, text: m.text, ts: m.ts });

  function serveStatic(req, res) {
    const u = new URL(req.url, 'http://x');
    let p = decodeURIComponent(u.pathname);
    let file = path.resolve(o.root, '.' + p);
    if (!file.startsWith(o.root + path.sep) && file !== o.root) { res.writeHead(403); res.end(); return; }
    // Like the gateway: a directory serves its index.html, without a redirect.
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, buf) => {
      if (err) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'content-security-policy': "default-src 'self'",
        'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store',
      });
      res.end(buf);
    });
  }

  const cookieOf = (req) => {
    const m = /(?:^|;\s*)cg_staff=([^;]+)/.exec(req.headers.cookie || '');
    return m ? staffSessions.get(m[1]) : null;
  };

  function api(req, res) {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const json = (code, obj, headers = {}) => { res.writeHead(code, { 'content-type': 'application/json', ...headers }); res.end(JSON.stringify(obj)); };
      if (req.url === '/api/login' && req.method === 'POST') {
        let b;
        try { b = JSON.parse(body); } catch { return json(400, { error: 'bad_json' }); }
        const st = o.staff.find((s) => s.email === b.email && s.password === b.password);
        if (!st) return json(401, { error: 'unauthorized' });
        const tok = crypto.randomBytes(16).toString('hex');
        staffSessions.set(tok, st);
        return json(200, { staff: { id: st.id, role: st.role, alias: st.alias } },
          { 'set-cookie': `cg_staff=${tok}; HttpOnly; SameSite=Strict; Path=/` });
      }
      if (req.url === '/api/logout' && req.method === 'POST') {
        return json(200, {}, { 'set-cookie': 'cg_staff=; Max-Age=0; Path=/' });
      }
      json(404, { error: 'not_found' });
    });
  }

  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/api/')) return api(req, res);
    if (req.url === '/healthz' || req.url === '/readyz') { res.writeHead(200); res.end('ok\n'); return; }
    serveStatic(req, res);
  });

  const wss = new WebSocketServer({ noServer: true, handleProtocols: (set) => [...set][0] || false });
  server.on('upgrade', (req, sock, head) => {
    const p = new URL(req.url, 'http://x').pathname;
    const proto = req.headers['sec-websocket-protocol'] || '';
    const want = p === '/ws/patient' ? 'caregate.patient.v1' : p === '/ws/staff' ? 'caregate.staff.v1' : null;
    const staff = p === '/ws/staff' ? cookieOf(req) : null;
    if (refuse || !want || !proto.split(/\s*,\s*/).includes(want) || (p === '/ws/staff' && !staff)) {
      sock.write('HTTP/1.1 ' + (refuse ? '503 Service Unavailable' : '403 Forbidden') + '\r\nContent-Length: 0\r\n\r\n');
      sock.destroy();
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => (staff ? staffConn(ws, staff) : patientConn(ws)));
  });

  const err = (ws, code, extra = {}) => ws.send(JSON.stringify({ type: 'error', code, message: code, ...extra }));

  function patientConn(ws) {
    let conv = null;
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(String(data)); } catch { return err(ws, 'bad_json'); }
      if (m.type === 'hello') {
        hellos.push(m);
        let id = m.session && sessions.get(m.session);
        let token = m.session;
        if (!id) {
          token = crypto.randomBytes(16).toString('hex');
          id = nextId();
          convs.set(id, { id, lang: m.lang || 'de', status: 'open', channel: 'web', assignee: null, waiting_since: null, preview: '', messages: [], cids: new Map(), patients: new Set(), unread: 0 });
          sessions.set(token, id);
        }
        conv = convs.get(id);
        conv.patients.add(ws);
        ws.send(JSON.stringify({ type: 'welcome', session: token, conversation: id, clinic: o.clinic,
          history: conv.messages.filter((x) => x.from !== 'note').map((x) => ({ ...pub(x), read: x.read })), office: o.office, address_form: o.addressForm,
          privacy_notice: { version: o.privacyVersion, text: o.privacyText } }));
        return;
      }
      if (!conv) return err(ws, 'unauthorized');
      if (m.type === 'msg') {
        if (typeof m.text !== 'string' || !m.text.trim()) return err(ws, 'bad_json', { client_id: m.client_id });
        if (Buffer.byteLength(m.text) > o.maxBytes) return err(ws, 'too_large', { client_id: m.client_id });
        const hit = PATIENT_BLOCK.find(([re]) => re.test(m.text));
        if (hit) return err(ws, 'policy_blocked', { client_id: m.client_id, findings: [{ category: hit[1], count: 1 }] });
        const dup = conv.cids.get(m.client_id);
        if (dup) return ws.send(JSON.stringify({ type: 'ack', client_id: m.client_id, id: dup.id, ts: dup.ts }));
        const msg = { id: nextId(), from: 'patient', author: '', text: m.text, ts: now() };
        conv.messages.push(msg);
        conv.cids.set(m.client_id, msg);
        conv.preview = redactPreview(m.text);
        conv.waiting_since = conv.waiting_since || msg.ts;
        conv.unread++;
        if (conv.status === 'done') conv.status = 'open';
        ws.send(JSON.stringify({ type: 'ack', client_id: m.client_id, id: msg.id, ts: msg.ts }));
        toStaff({ ...pub(msg), conversation: conv.id });
        toStaff(summary(conv));
        return;
      }
      if (m.type === 'typing') return toStaff({ type: 'typing', conversation: conv.id });
      if (m.type === 'read') return toStaff({ type: 'read', conversation: conv.id, id: m.id });
      if (m.type === 'erase_request') {
        convs.delete(conv.id);
        for (const [k, v] of sessions) if (v === conv.id) sessions.delete(k);
        toStaff({ type: 'conversation', id: conv.id, status: 'erased' });
        ws.send(JSON.stringify({ type: 'erased' }));
        conv = null;
        return;
      }
      err(ws, 'unknown_type');
    });
    ws.on('close', () => { if (conv) conv.patients.delete(ws); });
  }

  function staffConn(ws, st) {
    staffSockets.add(ws);
    if (st.on_shift == null) st.on_shift = true;
    const staffList = () => ({ type: 'staff_list', staff: o.staff.filter((x) => x.role !== 'dpo')
      .map((x) => ({ id: x.id, alias: x.alias, role: x.role, on_shift: x.on_shift !== false })) });
    ws.send(JSON.stringify({ type: 'welcome', staff: { id: st.id, role: st.role, alias: st.alias, on_shift: st.on_shift },
      address_form: o.addressForm, clinic: o.clinic, ...(o.clinicPhone ? { clinic_phone: o.clinicPhone } : {}) }));
    ws.send(JSON.stringify({ type: 'queue', conversations: [...convs.values()].filter((c) => c.messages.length).map((c) => { const s = summary(c); delete s.type; return s; }) }));
    ws.send(JSON.stringify(staffList()));
    if (o.canned) ws.send(JSON.stringify({ type: 'canned', answers: o.canned }));
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(String(data)); } catch { return err(ws, 'bad_json'); }
      if (m.type === 'staff_list') return ws.send(JSON.stringify(staffList()));
      if (m.type === 'shift') { st.on_shift = !!m.on; return ws.send(JSON.stringify({ type: 'shift', on: st.on_shift })); }
      const c = convs.get(String(m.conversation || ''));
      if (!c && m.type !== 'typing') return err(ws, 'not_found', { client_id: m.client_id });
      switch (m.type) {
        case 'open':
          c.unread = 0;
          ws.send(JSON.stringify({ type: 'history', conversation: c.id, messages: c.messages.map((x) => (x.from === 'note'
            ? { type: 'note', id: x.id, author: x.author, text: x.text, ts: x.ts } : pub(x))) }));
          return;
        case 'reply': {
          const hit = STAFF_BLOCK.find(([re]) => re.test(m.text || ''));
          // Like the gateway's default policy: health data to a platform may go out redacted with
          // "override":true (audited there); a private phone number never.
          const health = hit && hit[1] !== 'PHONE' && c.channel !== 'web';
          let text = String(m.text || '');
          if (hit && health && m.override === true) {
            text = text.replace(new RegExp(hit[0].source, 'gi'), `[${hit[1]}]`);
            overrides.push({ conversation: c.id, client_id: m.client_id });
          } else if (hit) {
            return err(ws, 'policy_blocked', { client_id: m.client_id, findings: [{ category: hit[1], count: 1 }],
              action: 'block', override_allowed: Boolean(health), ...(health ? { override_redacts: true } : {}) });
          }
          const dup = c.cids.get(m.client_id);
          if (dup) return ws.send(JSON.stringify({ type: 'ack', client_id: m.client_id, id: dup.id, ts: dup.ts }));
          const msg = { id: nextId(), from: 'staff', author: o.clinic, text, ts: now() };
          c.messages.push(msg);
          c.cids.set(m.client_id, msg);
          c.waiting_since = null;
          if (c.status === 'open') c.status = 'pending';
          ws.send(JSON.stringify({ type: 'ack', client_id: m.client_id, id: msg.id, ts: msg.ts, conversation: c.id }));
          toPatients(c, pub(msg));
          for (const s of staffSockets) if (s !== ws) s.send(JSON.stringify({ ...pub(msg), conversation: c.id }));
          toStaff(summary(c));
          return;
        }
        case 'note': {
          const msg = { id: nextId(), from: 'note', author: st.alias, text: String(m.text || ''), ts: now() };
          c.messages.push(msg);
          ws.send(JSON.stringify({ type: 'ack', client_id: m.client_id, id: msg.id, ts: msg.ts, conversation: c.id }));
          return;
        }
        case 'status':
          if (!['open', 'pending', 'snoozed', 'done'].includes(m.status)) return err(ws, 'bad_json');
          if (m.status === 'snoozed' && !(Date.parse(m.until) > 0)) return err(ws, 'bad_request');
          c.status = m.status;
          c.snoozed_until = m.status === 'snoozed' ? new Date(m.until).toISOString() : null;
          return toStaff(summary(c));
        case 'assign':
          c.assignee = m.staff == null ? null : String(m.staff);
          return toStaff(summary(c));
        case 'typing':
          if (c) toPatients(c, { type: 'typing' });
          return;
        case 'read': {
          const last = [...c.messages].reverse().find((x) => x.from === 'patient');
          if (last) { for (const x of c.messages) if (x.from === 'patient') x.read = true; toPatients(c, { type: 'read', id: last.id }); }
          return;
        }
        default:
          err(ws, 'unknown_type');
      }
    });
    ws.on('close', () => staffSockets.delete(ws));
  }

  await new Promise((r) => server.listen(o.port || 0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    convs,
    setOffice(x) { o.office = x; },
    // Turns every conversation into a platform one with the given bridge field (window, state).
    setBridge(b) { for (const c of convs.values()) { c.channel = b.platform || 'whatsapp'; c.bridge = b; toStaff(summary(c)); } },
    setAddressForm(f) { o.addressForm = f; },
    setCanned(list) { o.canned = list; },
    setClinicPhone(p) { o.clinicPhone = p; },
    setPrivacyVersion(v, text = '') { o.privacyVersion = v; o.privacyText = text; },
    hellos,
    overrides,
    refuse(v) { refuse = v; },
    dropSockets() { for (const c of wss.clients) c.terminate(); },
    async close() {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

// `node tests/browser/lib/fakeserver.mjs [port]` runs it by hand for UI work.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const f = await startFakeServer({ port: Number(process.argv[2]) || 8090 });
  console.log(`fake gateway on ${f.url}/demo/index.html (staff: anna@demo-clinic.example / correct horse)`);
}
