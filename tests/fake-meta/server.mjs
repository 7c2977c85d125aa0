// SPDX-License-Identifier: Apache-2.0
//
// Fake Meta platform (WhatsApp Cloud API, Messenger Platform, Instagram Messaging) for
// offline tests, following /work/shared/design/meta-platforms.md §8. One HTTP listener on
// 127.0.0.1 serves the Graph API emulation (§8.3; graph and iggraph share it, media
// lookaside too: routing is by path), the webhook emitter (§8.2) and the control API
// (§8.4). Webhook bodies are serialised compactly with Meta's escaping (non-ASCII as
// lowercase \uXXXX, "/" as "\/", "@" as \u0040) and the EXACT bytes sent are signed with
// the app secret (X-Hub-Signature-256, plus the legacy X-Hub-Signature sha1 by default).
//
// What it does not do: TLS, mTLS, template/media management endpoints beyond §8.3, the
// real 7-day / 36-hour / 1-hour retry clocks (a compressed schedule stands in: after the
// schedule is exhausted WhatsApp/Instagram stop and a Page subscription is disabled).
// Deterministic: ids come from counters, time from an injectable clock offset.
//
// Use: `import { startFakeMeta } from './server.mjs'` (returns { url, port, state, close,
// deliver… }) or `node server.mjs [--port N] [--config file.json]` which prints
// "fake-meta listening on http://127.0.0.1:N".

import http from 'node:http';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const DEFAULTS = {
  app_secret: 'fake-app-secret',
  verify_token: 'fake-verify-token',
  callback_url: null,                 // the gateway's webhook URL
  access_tokens: ['EAAG-valid-token'],
  expired_tokens: ['EAAG-expired-token'],
  waba_id: '310000000000001',
  phone_number_id: '420000000000002',
  display_phone_number: '15550001000',
  page_id: '700000000000010',
  ig_id: '17841400000000020',
  send_sha1_header: true,
  escape_style: 'meta',               // 'meta' | 'plain'
  retry_schedule_ms: [200, 1000, 3000], // compressed §2.3 schedule after the first attempt
  webhook_timeout_ms: 5000,
  status_delays_ms: [30, 60, 90],     // sent, delivered, read after a successful send
  emit_statuses: true,
  window_mode: 'sync',                // WA outside 24 h: 'sync' 400/131047 or 'async' failed status
  pair_limit: 45,                     // > N sends in 6 s to one WA user -> 131056
  global_limit: 1000,                 // > N sends per second per number -> 130429
  status_for_code: {},                // code -> HTTP status override (proves we key on error.code)
};

const DEFAULT_HTTP = { 190: 401, 10: 403, 200: 403, 368: 403, 1: 500, 2: 500, 131000: 500 };

// Meta-style escaping of an already compact JSON text: only string contents can hold
// non-ASCII, "/" or "@", so a global replace is exact.
export function metaEscape(json) {
  let out = '';
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c > 0x7e || c === 0x40) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c === 0x2f) out += '\\/';
    else out += json[i];
  }
  return out;
}

export function sign(secret, bytes, algo = 'sha256') {
  return `${algo}=` + crypto.createHmac(algo, secret).update(bytes).digest('hex');
}

function graphError(code, message, extra = {}) {
  return {
    error: {
      message: `(#${code}) ${message}`, type: code === 190 ? 'OAuthException' : 'OAuthException',
      code, ...extra, fbtrace_id: crypto.randomBytes(11).toString('base64url'),
    },
  };
}

export async function startFakeMeta(options = {}) {
  const cfg = { ...DEFAULTS, ...options };
  const st = {
    clockOffsetMs: 0, seq: 0,
    lastInbound: new Map(),  // `${account}|${user}` -> ms
    pair: new Map(),          // `${pnid}|${to}` -> [ms…]
    globalTimes: [],
    sent: [], deliveries: [], errors: [], messages: new Map(),
    igUsers: new Set(), fbUsers: new Set(), blocked: new Set(),
    pageSubscribed: true, media: new Map(), timers: new Set(), pending: new Set(),
  };
  const now = () => Date.now() + st.clockOffsetMs;
  const nextId = (p) => `${p}${String(++st.seq).padStart(12, '0')}`;
  const later = (ms, fn) => {
    const t = setTimeout(() => { st.timers.delete(t); fn(); }, ms);
    st.timers.add(t);
  };

  // ---- webhook emitter (§8.2) ------------------------------------------------------------
  function serialise(obj) {
    const compact = JSON.stringify(obj);
    return cfg.escape_style === 'meta' ? metaEscape(compact) : compact;
  }

  function postOnce(url, bytes, headers, timeoutMs) {
    return new Promise((resolve) => {
      const t0 = Date.now();
      const u = new URL(url);
      const req = http.request({
        host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': bytes.length, ...headers },
        timeout: timeoutMs,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: Date.now() - t0 }));
      });
      req.on('timeout', () => { req.destroy(); resolve({ status: 0, error: 'timeout', ms: Date.now() - t0 }); });
      req.on('error', (e) => resolve({ status: 0, error: e.code || String(e), ms: Date.now() - t0 }));
      req.end(bytes);
    });
  }

  // Delivers one body with Meta's semantics: signed exact bytes, retried on non-200.
  // faults: { bad_signature, no_signature, sha1_only, duplicate, delay_ms, no_retry, raw }
  async function deliver(platform, body, faults = {}) {
    if (!cfg.callback_url) throw new Error('callback_url not configured');
    if (platform === 'page' && !st.pageSubscribed) {
      const d = { id: nextId('dl'), platform, attempts: [], dropped: 'unsubscribed' };
      st.deliveries.push(d);
      return d;
    }
    const text = typeof faults.raw === 'string' ? faults.raw : serialise(body);
    const bytes = Buffer.from(text, 'utf8');
    const headers = {};
    const secret = platform === 'instagram' && cfg.ig_app_secret ? cfg.ig_app_secret : cfg.app_secret;
    if (!faults.no_signature && !faults.sha1_only) {
      headers['x-hub-signature-256'] = faults.bad_signature
        ? sign(secret + 'x', bytes) : sign(secret, bytes);
    }
    if ((cfg.send_sha1_header || faults.sha1_only) && !faults.no_signature) headers['x-hub-signature'] = sign(secret, bytes, 'sha1');
    const d = { id: nextId('dl'), platform, bytes: bytes.length, attempts: [], text };
    st.deliveries.push(d);
    if (faults.delay_ms) await new Promise((r) => setTimeout(r, faults.delay_ms));
    const timeout = platform === 'whatsapp_business_account' ? Math.max(cfg.webhook_timeout_ms, 20000) : cfg.webhook_timeout_ms;
    const attempt = async () => {
      const r = await postOnce(cfg.callback_url, bytes, headers, timeout);
      d.attempts.push({ at: now(), status: r.status, ms: r.ms, error: r.error, body: r.body });
      return r;
    };
    let r = await attempt();
    if (faults.duplicate) await attempt();
    if (r.status !== 200 && !faults.no_retry) {
      // retries continue in the background on the compressed schedule
      const p = (async () => {
        for (const wait of cfg.retry_schedule_ms) {
          if (closed) return;
          await new Promise((res) => later(wait, res));
          if (closed) return;
          r = await attempt();
          if (r.status === 200) return;
        }
        if (platform === 'page') st.pageSubscribed = false; // §2.3: 1 h of failure unsubscribes
        d.gave_up = true;
      })();
      st.pending.add(p);
      p.finally(() => st.pending.delete(p));
    }
    return d;
  }

  // ---- envelopes -----------------------------------------------------------------------
  function waEnvelope(values) {
    return { object: 'whatsapp_business_account', entry: [{ id: cfg.waba_id, changes: values.map((value) => ({ field: 'messages', value })) }] };
  }
  function waMeta() {
    return { messaging_product: 'whatsapp', metadata: { display_phone_number: cfg.display_phone_number, phone_number_id: cfg.phone_number_id } };
  }
  function waMessage(a) {
    const from = a.from || '5215512345678';
    const bsuid = a.bsuid || `user.${crypto.createHash('sha256').update(from).digest('hex').slice(0, 24)}`;
    const phoneless = a.bsuid_mode === 'only';
    const m = { from: phoneless ? '' : from, id: a.id || nextId('wamid.IN'), timestamp: String(Math.floor((a.ts_ms ?? now()) / 1000)), type: a.type || 'text' };
    if (a.bsuid_mode) m.from_user_id = bsuid;
    if (m.type === 'text') m.text = { body: a.text ?? 'Hola' };
    else if (['image', 'video', 'audio', 'document', 'sticker'].includes(m.type)) {
      const mediaId = nextId('15');
      st.media.set(mediaId, { bytes: Buffer.from('fake media bytes'), mime: 'image/jpeg', at: now() });
      m[m.type] = { mime_type: 'image/jpeg', sha256: crypto.createHash('sha256').update('fake media bytes').digest('base64'), id: mediaId, ...(a.caption ? { caption: a.caption } : {}) };
    } else if (m.type === 'location') m.location = { latitude: 19.4326, longitude: -99.1332 };
    if (a.context) m.context = a.context;
    const contact = { profile: { name: a.name || 'Ana Pérez' }, wa_id: phoneless ? '' : from };
    if (a.bsuid_mode) contact.user_id = bsuid;
    if (!a.no_window) st.lastInbound.set(`${cfg.phone_number_id}|${from}`, a.ts_ms ?? now());
    return { contact, message: m };
  }
  function fbMessaging(a, ig) {
    const account = ig ? cfg.ig_id : cfg.page_id;
    const user = a.from || (ig ? '1130000000000021' : '6200000000000011');
    (ig ? st.igUsers : st.fbUsers).add(user);
    const ts = a.ts_ms ?? now();
    const ev = { sender: { id: user }, recipient: { id: account }, timestamp: ts };
    const kind = a.kind || 'message';
    if (kind === 'message') {
      ev.message = { mid: a.mid || nextId(ig ? 'aWdf' : 'm_'), ...(a.text !== undefined || !a.attachments ? { text: a.text ?? 'Buenas' } : {}) };
      if (a.attachments) ev.message.attachments = a.attachments;
      if (!a.no_window) st.lastInbound.set(`${account}|${user}`, ts);
    } else if (kind === 'read') ev.read = { watermark: ts };
    else if (kind === 'delivery') ev.delivery = { mids: a.mids || [], watermark: ts };
    else if (kind === 'reaction') ev.reaction = { mid: a.mid || 'm_x', action: 'react', emoji: '❤' };
    return ev;
  }
  function fbEnvelope(ig, events, shape) {
    const account = ig ? cfg.ig_id : cfg.page_id;
    if (ig && shape === 'changes') return { object: 'instagram', entry: [{ id: account, time: now(), changes: events.map((value) => ({ field: 'messages', value })) }] };
    return { object: ig ? 'instagram' : 'page', entry: [{ id: account, time: now(), messaging: events }] };
  }

  async function waInbound(a) {
    const n = a.batch || 1;
    const items = [];
    for (let i = 0; i < n; i++) items.push(waMessage({ ...a, id: n > 1 && a.id ? `${a.id}.${i}` : a.id, text: n > 1 && a.text ? `${a.text} ${i}` : a.text }));
    let body;
    if (a.entries && a.entries > 1) {
      // spread over several entries × changes (§8.5 #4)
      body = { object: 'whatsapp_business_account', entry: [] };
      let k = 0;
      for (let e = 0; e < a.entries; e++) {
        const changes = [];
        for (let c = 0; c < (a.changes || 1); c++) {
          const it = items[k++ % items.length];
          changes.push({ field: 'messages', value: { ...waMeta(), contacts: [it.contact], messages: [it.message] } });
        }
        body.entry.push({ id: cfg.waba_id, changes });
      }
    } else {
      body = waEnvelope([{ ...waMeta(), contacts: [items[0].contact], messages: items.map((x) => x.message) }]);
    }
    if (a.account_override) { body.entry.forEach((e) => { e.id = a.account_override; e.changes.forEach((c) => { c.value.metadata.phone_number_id = a.account_override; }); }); }
    const d = await deliver('whatsapp_business_account', body, a.faults || {});
    return { delivery: d.id, status: d.attempts[0]?.status ?? 0, attempts: d.attempts, ids: items.map((x) => x.message.id) };
  }
  async function fbInbound(a, ig) {
    const n = a.batch || 1;
    const evs = [];
    for (let i = 0; i < n; i++) evs.push(fbMessaging({ ...a, text: n > 1 && a.text ? `${a.text} ${i}` : a.text }, ig));
    const body = fbEnvelope(ig, evs, a.shape);
    if (a.account_override) body.entry.forEach((e) => { e.id = a.account_override; });
    const d = await deliver(ig ? 'instagram' : 'page', body, a.faults || {});
    return { delivery: d.id, status: d.attempts[0]?.status ?? 0, attempts: d.attempts, ids: evs.map((e) => e.message?.mid) };
  }

  // ---- Graph API emulation (§8.3) ---------------------------------------------------------
  function httpFor(code) {
    return cfg.status_for_code[code] ?? DEFAULT_HTTP[code] ?? 400;
  }
  function token(req, url) {
    const h = req.headers.authorization || '';
    if (h.startsWith('Bearer ')) return h.slice(7);
    return url.searchParams.get('access_token');
  }
  function checkToken(req, url) {
    const t = token(req, url);
    if (!t) return [400, graphError(200, 'Provide valid app ID')];
    if (cfg.expired_tokens.includes(t)) return [401, graphError(190, 'Error validating access token: Session has expired', { error_subcode: 463 })];
    if (!cfg.access_tokens.includes(t)) return [401, graphError(190, 'Invalid OAuth access token - Cannot parse access token')];
    return null;
  }
  function injected(channel, path, body) {
    for (const e of st.errors) {
      if (e.times === 0) continue;
      const m = e.match || {};
      if (m.channel && m.channel !== channel) continue;
      if (m.path && !path.includes(m.path)) continue;
      if (m.to && JSON.stringify(body).indexOf(m.to) < 0) continue;
      if (e.times > 0) e.times--;
      return e;
    }
    return null;
  }
  function respondErr(code, message, extra) {
    return [httpFor(code), graphError(code, message, extra)];
  }

  function emitWaStatuses(wamid, to, callback, final) {
    if (!cfg.emit_statuses) return;
    const seq = final ? [final] : ['sent', 'delivered', 'read'];
    seq.forEach((status, i) => later(cfg.status_delays_ms[i] ?? 100, () => {
      const s = { id: wamid, status: typeof status === 'string' ? status : 'failed', timestamp: String(Math.floor(now() / 1000)), recipient_id: to };
      if (callback) s.biz_opaque_callback_data = callback;
      if (typeof status === 'object') s.errors = [status];
      else if (status !== 'read') s.pricing = { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' };
      deliver('whatsapp_business_account', waEnvelope([{ ...waMeta(), statuses: [s] }])).catch(() => {});
    }));
  }

  function waSend(url, body, req) {
    const tokErr = checkToken(req, url);
    if (tokErr) return tokErr;
    if (body.status === 'read') {
      if (!st.messages.has(body.message_id) && !String(body.message_id || '').startsWith('wamid.IN')) return respondErr(100, 'Invalid parameter');
      return [200, { success: true }];
    }
    if (body.messaging_product !== 'whatsapp') return respondErr(100, 'Invalid parameter', { error_data: { messaging_product: 'whatsapp', details: 'messaging_product is required' } });
    if (!body.to || !body.type) return respondErr(131008, 'Required parameter is missing');
    if (body.type === 'text' && (!body.text || typeof body.text.body !== 'string')) return respondErr(131008, 'Required parameter is missing');
    if (body.type === 'text' && [...body.text.body].length > 4096) return respondErr(100, 'Invalid parameter');
    if (body.type === 'template' && !body.template?.name) return respondErr(131008, 'Required parameter is missing');
    const to = String(body.to).replace(/^\+/, '');
    const last = st.lastInbound.get(`${cfg.phone_number_id}|${to}`);
    const outside = body.type !== 'template' && (last === undefined || now() - last > 24 * 3600e3);
    if (outside && cfg.window_mode === 'sync') return respondErr(131047, 'Re-engagement message', { error_data: { messaging_product: 'whatsapp', details: 'More than 24 hours have passed since the recipient last replied to the sender number.' } });
    const pk = `${cfg.phone_number_id}|${to}`;
    const times = (st.pair.get(pk) || []).filter((t) => now() - t < 6000);
    if (times.length >= cfg.pair_limit) return respondErr(131056, '(Business Account, Consumer Account) pair rate limit hit');
    times.push(now()); st.pair.set(pk, times);
    st.globalTimes = st.globalTimes.filter((t) => now() - t < 1000);
    if (st.globalTimes.length >= cfg.global_limit) return respondErr(130429, 'Rate limit hit');
    st.globalTimes.push(now());
    const wamid = nextId('wamid.OUT');
    st.messages.set(wamid, { to, callback: body.biz_opaque_callback_data });
    emitWaStatuses(wamid, to, body.biz_opaque_callback_data,
      outside ? { code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'More than 24 hours have passed since the recipient last replied to the sender number.' } } : null);
    return [200, { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: to }], messages: [{ id: wamid }] }];
  }

  function fbSend(url, body, req, ig) {
    const tokErr = checkToken(req, url);
    if (tokErr) return tokErr;
    const account = ig ? cfg.ig_id : cfg.page_id;
    const rid = body.recipient?.id;
    if (!rid) return respondErr(100, 'The parameter recipient is required');
    if (ig === null) ig = st.igUsers.has(rid);
    const users = ig ? st.igUsers : st.fbUsers;
    if (!users.has(rid)) return respondErr(100, 'No matching user found', { error_subcode: ig ? 2534014 : 2018001 });
    if (st.blocked.has(rid)) return respondErr(551, "This person isn't available right now");
    if (body.sender_action) return [200, { recipient_id: rid }];
    const mt = body.messaging_type;
    if (!ig && !['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(mt)) return respondErr(100, 'Invalid messaging_type');
    if (mt === 'MESSAGE_TAG' && !body.tag) return respondErr(100, 'tag is required for MESSAGE_TAG');
    if (mt === 'MESSAGE_TAG' && ['CONFIRMED_EVENT_UPDATE', 'ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE'].includes(body.tag)) return respondErr(100, 'Tag is deprecated');
    if (mt === 'MESSAGE_TAG' && body.tag !== 'HUMAN_AGENT') return respondErr(100, 'Invalid tag');
    const text = body.message?.text;
    if (typeof text !== 'string' && !body.message?.attachment) return respondErr(100, 'message is required');
    if (ig && typeof text === 'string' && Buffer.byteLength(text, 'utf8') > 1000) return respondErr(100, 'Length of param message[text] must be less than or equal to 1000');
    if (!ig && typeof text === 'string' && [...text].length > 2000) return respondErr(100, 'Length of param message[text] must be less than or equal to 2000');
    const last = st.lastInbound.get(`${account}|${rid}`);
    const age = last === undefined ? Infinity : now() - last;
    const tagged = mt === 'MESSAGE_TAG' && body.tag === 'HUMAN_AGENT';
    if ((age > 24 * 3600e3 && !tagged) || (tagged && age > 7 * 24 * 3600e3))
      return respondErr(10, 'This message is sent outside of allowed window.', { error_subcode: ig ? 2534022 : 2018278 });
    const mid = nextId(ig ? 'aWdfOUT' : 'm_OUT');
    st.messages.set(mid, { to: rid, metadata: body.message?.metadata });
    if (cfg.emit_statuses) {
      later(cfg.status_delays_ms[0] ?? 30, () => {
        const echo = { sender: { id: account }, recipient: { id: rid }, timestamp: now(), message: { mid, is_echo: true, app_id: 1000000000001, text } };
        if (!ig && body.message?.metadata) echo.message.metadata = body.message.metadata;
        deliver(ig ? 'instagram' : 'page', fbEnvelope(ig, [echo])).catch(() => {});
      });
      if (!ig) later(cfg.status_delays_ms[1] ?? 60, () => deliver('page', fbEnvelope(false, [{ sender: { id: rid }, recipient: { id: account }, delivery: { mids: [mid], watermark: now() } }])).catch(() => {}));
      later(cfg.status_delays_ms[2] ?? 90, () => deliver(ig ? 'instagram' : 'page', fbEnvelope(ig, [{ sender: { id: rid }, recipient: { id: account }, timestamp: now(), read: ig ? { mid } : { watermark: now() } }])).catch(() => {}));
    }
    return [200, { recipient_id: rid, message_id: mid }];
  }

  async function graph(req, url, raw) {
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'whatsapp_business' && parts[1] === 'attachments') {
      const t = token(req, url);
      if (!t || !cfg.access_tokens.includes(t)) return [401, graphError(190, 'Invalid OAuth access token')];
      const m = st.media.get(url.searchParams.get('mid'));
      if (!m || now() - Number(url.searchParams.get('ext') || 0) > 300e3) return [404, 'expired'];
      return [200, m.bytes, m.mime];
    }
    const [ver, id, edge] = parts;
    if (!ver || !/^v\d+\.\d+$/.test(ver)) return respondErr(100, 'Unknown path components');
    let body = {};
    if (req.method === 'POST' && raw.length) {
      try { body = JSON.parse(raw); } catch { return respondErr(100, 'Invalid JSON'); }
    }
    if (req.method === 'GET' && id && !edge) {
      const tokErr = checkToken(req, url);
      if (tokErr) return tokErr;
      const m = st.media.get(id);
      if (!m || now() - m.at > 7 * 24 * 3600e3) return respondErr(100, 'Unsupported get request');
      const pn = url.searchParams.get('phone_number_id');
      if (pn && pn !== cfg.phone_number_id) return respondErr(100, 'Invalid parameter');
      return [200, { messaging_product: 'whatsapp', url: `http://127.0.0.1:${port}/whatsapp_business/attachments/?mid=${id}&ext=${now()}&hash=ATx`, mime_type: m.mime, sha256: crypto.createHash('sha256').update(m.bytes).digest('base64'), file_size: m.bytes.length, id }];
    }
    if (edge === 'subscribed_apps') {
      const tokErr = checkToken(req, url);
      if (tokErr) return tokErr;
      if (req.method === 'POST') { st.pageSubscribed = true; return [200, { success: true }]; }
      return [200, { data: st.pageSubscribed ? [{ id: '1000000000001', name: 'caregate', subscribed_fields: ['messages'] }] : [] }];
    }
    if (req.method === 'POST' && edge === 'messages') {
      let channel = null, ig = null;
      if (id === cfg.phone_number_id) channel = 'whatsapp';
      else if (id === cfg.ig_id) { channel = 'instagram'; ig = true; }
      else if (id === cfg.page_id || id === 'me') { channel = st.igUsers.has(body.recipient?.id) ? 'instagram' : 'messenger'; ig = channel === 'instagram'; }
      if (!channel) return respondErr(100, 'Unsupported post request. Object does not exist');
      const rec = { channel, at: now(), path: url.pathname, query: url.search.replace(/access_token=[^&]*/, 'access_token=REDACTED'), authorization: req.headers.authorization ? 'Bearer REDACTED' : null, content_type: req.headers['content-type'], raw, body, status: null };
      st.sent.push(rec);
      const inj = injected(channel, url.pathname, body);
      let result;
      if (inj?.hang) {
        // accept the message, then never answer (or answer late): an ambiguous send (§7.3)
        result = channel === 'whatsapp' ? waSend(url, body, req) : fbSend(url, body, req, ig);
        rec.status = result[0]; rec.response = result[1]; rec.hung = true;
        return ['hang', inj.hang_ms || 0];
      }
      if (inj?.error) {
        const e = inj.error;
        result = [e.http ?? httpFor(e.code), graphError(e.code, e.message || 'Injected error', e.error_subcode ? { error_subcode: e.error_subcode } : {})];
      } else if (inj?.http) {
        result = [inj.http, inj.body ?? '<html>Bad Gateway</html>', 'text/html'];
      } else {
        result = channel === 'whatsapp' ? waSend(url, body, req) : fbSend(url, body, req, ig);
      }
      rec.status = result[0]; rec.response = result[1];
      return result;
    }
    return respondErr(100, `Unsupported ${req.method.toLowerCase()} request.`, { type: 'GraphMethodException' });
  }

  // ---- control API (§8.4) ------------------------------------------------------------------
  async function control(req, url, raw) {
    const a = raw.length ? JSON.parse(raw) : {};
    const p = url.pathname;
    if (p === '/_fake/clock') { st.clockOffsetMs += (a.advance_seconds || 0) * 1000; return [200, { now: now() }]; }
    if (p === '/_fake/sent') {
      const ch = url.searchParams.get('channel');
      return [200, st.sent.filter((s) => !ch || s.channel === ch)];
    }
    if (p === '/_fake/errors') { st.errors.push({ match: a.match || {}, error: a.error, http: a.http, body: a.body, hang: a.hang, hang_ms: a.hang_ms, times: a.times ?? 1 }); return [200, { ok: true }]; }
    if (p === '/_fake/reset') {
      Object.assign(st, { sent: [], deliveries: [], errors: [], clockOffsetMs: 0 });
      st.lastInbound.clear(); st.pair.clear(); st.messages.clear(); st.pageSubscribed = true;
      return [200, { ok: true }];
    }
    if (p === '/_fake/config') { Object.assign(cfg, a); return [200, { ok: true }]; }
    if (p === '/_fake/deliveries') return [200, st.deliveries.map(({ text, ...d }) => d)];
    if (p === '/_fake/verify') {
      const base = new URL(cfg.callback_url);
      const challenge = String(crypto.randomInt(1e9, 2e9));
      const get = (tok) => new Promise((resolve) => {
        const u = new URL(base);
        u.search = `hub.mode=subscribe&hub.challenge=${challenge}&hub.verify_token=${encodeURIComponent(tok)}`;
        http.get(u, (res) => { const c = []; res.on('data', (x) => c.push(x)); res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(c).toString() })); })
          .on('error', (e) => resolve({ status: 0, body: String(e) }));
      });
      const good = await get(a.token ?? cfg.verify_token);
      const bad = await get((a.token ?? cfg.verify_token) + '-wrong');
      return [200, { pass: good.status === 200 && good.body === challenge && bad.status !== 200, good, bad, challenge }];
    }
    if (p === '/_fake/wa/inbound') return [200, await waInbound(a)];
    if (p === '/_fake/fb/inbound') return [200, await fbInbound(a, false)];
    if (p === '/_fake/ig/inbound') return [200, await fbInbound(a, true)];
    if (p === '/_fake/wa/status') {
      // a status for a message id (or the last one sent): exercises reorder / duplicates
      const id = a.id || [...st.messages.keys()].filter((k) => k.startsWith('wamid.')).pop();
      const m = st.messages.get(id) || {};
      const s = { id, status: a.status, timestamp: String(Math.floor(now() / 1000)), recipient_id: m.to || '' };
      if (a.callback ?? m.callback) s.biz_opaque_callback_data = a.callback ?? m.callback;
      if (a.error) s.errors = [a.error];
      const d = await deliver('whatsapp_business_account', waEnvelope([{ ...waMeta(), statuses: [s] }]), a.faults || {});
      return [200, { delivery: d.id, status: d.attempts[0]?.status ?? 0 }];
    }
    if (p === '/_fake/deliver') {
      const d = await deliver(a.platform || 'whatsapp_business_account', a.body, a.faults || {});
      return [200, { delivery: d.id, status: d.attempts[0]?.status ?? 0, attempts: d.attempts }];
    }
    return [404, { error: 'unknown control route' }];
  }

  let closed = false;
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://127.0.0.1');
      let out;
      try {
        out = url.pathname.startsWith('/_fake/') ? await control(req, url, raw) : await graph(req, url, raw);
      } catch (e) {
        out = [500, { error: String(e && e.stack || e) }];
      }
      const [status, body, ctype] = out;
      if (status === 'hang') {
        if (body > 0) later(body, () => { if (!res.writableEnded) { res.writeHead(504); res.end(); } });
        return; // never answered: the client times out or the gateway dies waiting
      }
      const isBuf = Buffer.isBuffer(body);
      const text = isBuf ? body : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': ctype || 'application/json; charset=UTF-8', 'x-fb-trace-id': 'fake' });
      res.end(text);
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(options.port || 0, '127.0.0.1', resolve));
  const port = server.address().port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url, port, cfg, state: st, deliver, now,
    async close() {
      closed = true;
      for (const t of st.timers) clearTimeout(t);
      st.timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') opt.port = Number(args[++i]);
    else if (args[i] === '--config') Object.assign(opt, JSON.parse(await (await import('node:fs/promises')).readFile(args[++i], 'utf8')));
  }
  const f = await startFakeMeta(opt);
  console.log(`fake-meta listening on ${f.url}`);
}
