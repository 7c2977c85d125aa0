// SPDX-License-Identifier: Apache-2.0
// The patient chat (chat.html), caregate.patient.v1 over /ws/patient. The resume token, accepted
// privacy-notice version and outbox live in localStorage, so a reload or lost network loses
// nothing: a message keeps its client_id and is re-sent on each reconnect until acknowledged
// (stored once). Talks only to its own origin; the launcher and iframe live in embed.js.

import { LANGS, LANG_NAMES, pickLang, translator } from './i18n.js';

const TYPING_EVERY_MS = 3000;
const TYPING_SHOW_MS = 6000;

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

// localStorage can throw (disabled, partitioned, full): the chat then works but cannot resume.
const store = {
  get(k, d) { try { const v = localStorage.getItem('caregate.' + k); return v == null ? d : JSON.parse(v); } catch { return d; } },
  set(k, v) { try { localStorage.setItem('caregate.' + k, JSON.stringify(v)); } catch { /* see above */ } },
  del(k) { try { localStorage.removeItem('caregate.' + k); } catch { /* see above */ } },
};

// The privacy-notice version: built in until a welcome names the policy's; a newer one shows the
// notice again before the next message.
let PV = store.get('pv', '2026-01');

// randomUUID exists only in secure contexts; elsewhere 128 random bits in hex.
const uuid = () => crypto.randomUUID?.() ?? [...crypto.getRandomValues(new Uint8Array(16))].map((b) => (b | 256).toString(16).slice(1)).join('');

const params = new URLSearchParams(location.search);
const embedded = params.get('embed') === '1' && window.parent !== window;

const S = {
  lang: pickLang(store.get('lang'), params.get('lang'), navigator.language),
  form: store.get('form', 'Sie'),
  session: store.get('session', null),
  outbox: store.get('outbox', []),      // [{client_id, text, ts}] not yet acknowledged
  accepted: store.get('privacy') === PV,
  clinic: store.get('clinic', '') || (params.get('clinic') || '').slice(0, 80),
  office: null,
  ws: null, welcomed: false, attempts: 0, timer: 0, everConnected: false,
  idle: false,                          // after an erasure: connect again only when the patient writes
  eraseAsked: false,
  open: !embedded, unread: 0,
  lastTypingSent: 0, typingTimer: 0,
};
let t = translator(S.lang, S.form);

// Rendered messages in log order, by server id once known, pending ones by client_id.
const byId = new Map();
const byCid = new Map();

/* ---------- static strings ---------- */

function applyStrings() {
  t = translator(S.lang, S.form);
  document.documentElement.lang = S.lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll('[data-ta]')) e.setAttribute('aria-label', t(e.dataset.ta));
  for (const e of document.querySelectorAll('[data-tp]')) e.placeholder = t(e.dataset.tp);
  $('privacy-version').textContent = t('privacy_version', { v: PV });
  const pt = store.get('ptext'); // the policy's notice text, in the language it came in
  if (pt && pt[0] === S.lang && pt[1]) $('privacy').children[1].textContent = pt[1];
  $('log').setAttribute('aria-label', t('title'));
  $('clinic').textContent = S.clinic || t('title');
  $('avatar').textContent = (S.clinic || '+').trim().charAt(0).toUpperCase();
  document.title = S.clinic ? S.clinic + ' · ' + t('title') : t('title');
  renderStatus();
  renderOffice();
  for (const m of [...byId.values(), ...byCid.values()]) renderMeta(m);
}

function fillLangs() {
  const sel = $('lang');
  for (const l of LANGS) {
    // Short codes fit 360 px; the native name is the accessible name.
    const o = el('option', null, l.toUpperCase());
    o.title = LANG_NAMES[l];
    o.setAttribute('aria-label', l.toUpperCase() + ' · ' + LANG_NAMES[l]);
    o.value = l;
    o.lang = l;
    sel.append(o);
  }
  sel.value = S.lang;
  sel.addEventListener('change', () => {
    S.lang = sel.value;
    store.set('lang', S.lang);
    applyStrings();
  });
}

/* ---------- connection ---------- */

function connect() {
  if (S.ws || !S.accepted) return;
  clearTimeout(S.timer);
  S.idle = false;
  const url = new URL('ws/patient', new URL('./', location.href));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  let ws;
  try { ws = new WebSocket(url, 'caregate.patient.v1'); } catch { return retry(); }
  S.ws = ws;
  renderStatus();
  ws.onopen = () => {
    // privacy_notice (extension): the version the patient accepted.
    send({ type: 'hello', session: S.session, lang: S.lang, privacy_notice: store.get('privacy') });
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m && typeof m.type === 'string') onFrame(m);
  };
  ws.onclose = () => {
    if (S.ws !== ws) return;
    S.ws = null;
    S.welcomed = false;
    renderStatus();
    if (!S.idle) retry();
  };
}

// Backoff with jitter, capped at 30 s: a restarted gateway is not hit by all browsers at once.
function retry() {
  clearTimeout(S.timer);
  const d = Math.min(30000, 800 * 2 ** S.attempts) * (0.6 + Math.random() * 0.4);
  S.attempts = Math.min(S.attempts + 1, 8);
  S.timer = setTimeout(connect, d);
}

function reconnectNow() {
  if (!S.ws && S.accepted && !S.idle) { S.attempts = 0; connect(); }
}

function send(obj) {
  if (S.ws && S.ws.readyState === 1) { S.ws.send(JSON.stringify(obj)); return true; }
  return false;
}

/* ---------- frames from the gateway ---------- */

const handlers = {
  welcome(m) {
    const resumed = S.session && m.session === S.session;
    if (S.session && !resumed) notice(t('e_unauthorized'));
    S.session = m.session || null;
    store.set('session', S.session);
    S.welcomed = true;
    S.everConnected = true;
    S.attempts = 0;
    if (m.address_form === 'Du' || m.address_form === 'Sie') { S.form = m.address_form; store.set('form', S.form); }
    const name = m.clinic || m.clinic_name;
    if (name) { S.clinic = String(name); store.set('clinic', S.clinic); }
    S.office = m.office || null;
    S.maxBytes = (m.limits && Number(m.limits.max_message_bytes)) || 0;
    // The history is the truth: rebuild the log, then re-send the unacknowledged messages (same
    // client_id: stored once). A history entry with our client_id was committed, its ack lost.
    clearLog();
    for (const h of Array.isArray(m.history) ? m.history : []) {
      if (h.client_id) dropOutbox(h.client_id);
      addMsg(normal(h), false);
    }
    for (const o of S.outbox) addMsg({ cid: o.client_id, from: 'patient', text: o.text, ts: o.ts, state: 'sending' }, false);
    const v = m.privacy_notice && m.privacy_notice.version;
    if (v) store.set('ptext', [S.lang, m.privacy_notice.text]);
    if (v && v !== PV) { PV = v; store.set('pv', v); S.accepted = store.get('privacy') === v; }
    applyStrings();
    renderPrivacy();
    if (S.accepted) flush();
    markRead();
    scrollDown(true);
  },
  ack(m) {
    dropOutbox(m.client_id);
    const p = byCid.get(m.client_id);
    if (!p) return;
    byCid.delete(m.client_id);
    if (m.id && byId.has(m.id)) { p.el.remove(); return; }
    p.id = m.id;
    p.ts = m.ts || p.ts;
    p.state = 'sent';
    if (p.id) byId.set(p.id, p);
    renderMeta(p);
  },
  msg(m) {
    if (m.id && byId.has(m.id)) return;
    setTyping(false);
    addMsg(normal(m), true);
    if (m.from !== 'patient') {
      if (S.open && document.visibilityState === 'visible') markRead();
      else { S.unread++; toParent({ caregate: 'unread', n: S.unread }); }
    }
  },
  typing() { setTyping(true); },
  // Receipts: how far the clinic has received / read the patient's messages.
  delivered(m) { receipt(m.id, 'delivered'); },
  read(m) { receipt(m.id, 'read'); },
  office(m) { S.office = m; renderOffice(); renderStatus(); },
  erased() {
    for (const k of ['session', 'outbox']) store.del(k);
    S.session = null;
    S.outbox = [];
    S.idle = true;
    S.eraseAsked = false;
    clearLog();
    if (S.ws) S.ws.close();
    renderIntro();
    notice(t('erased'), 'ok');
  },
  erase_requested() { S.eraseAsked = false; notice(t('erase_sent'), 'ok'); },
  erase_accepted() { handlers.erased(); }, // the gateway shreds it right away
  error(m) { onError(m); },
};

function onFrame(m) {
  const h = Object.prototype.hasOwnProperty.call(handlers, m.type) && handlers[m.type];
  if (h) h(m);
}

function onError(m) {
  const code = String(m.code || '');
  const p = m.client_id ? byCid.get(m.client_id) : null;
  if (code === 'unknown_type' && S.eraseAsked) { S.eraseAsked = false; notice(t('erase_failed')); return; }
  if (code === 'unauthorized' && !p) {
    // The resume token is unknown or expired: start over with a new session.
    S.session = null;
    store.del('session');
    if (S.ws) S.ws.close();
    return;
  }
  if (!S.welcomed && !p) { if (S.ws) S.ws.close(); return; } // hello failed: retry with backoff
  if (code === 'rate_limited' || code === 'unavailable') {
    // Not stored, nothing wrong with it: it stays in the outbox and goes again.
    if (code === 'rate_limited') notice(t('e_rate_limited'));
    if (p) { p.sent = false; setTimeout(flush, code === 'rate_limited' ? 5000 : 2000); }
    return;
  }
  if (p) {
    dropOutbox(p.cid);
    byCid.delete(p.cid);
    if (code === 'too_large') {
      p.el.remove();
      const ta = $('text');
      ta.value = p.text + (ta.value ? '\n' + ta.value : '');
      notice(t('e_too_large'));
      ta.focus();
      return;
    }
    p.state = 'failed';
    renderMeta(p);
  }
  if (code === 'policy_blocked') {
    const cats = (Array.isArray(m.findings) ? m.findings : []).map((f) => t.cat(f.category));
    notice(t('e_policy_blocked', { cats: [...new Set(cats)].join(', ') || '–' }));
  } else if (code === 'too_large') notice(t('e_too_large'));
  else if (code === 'bad_json' || code === 'bad_utf8') notice(t('e_bad'));
  else if (code === 'window_closed') notice(t('e_window_closed'));
  else notice(t('e_generic'));
}

/* ---------- messages ---------- */

function normal(h) {
  const from = h.from === 'patient' || h.from === 'staff' ? h.from : 'system';
  return { id: h.id != null ? String(h.id) : null, from, author: h.author || '', text: String(h.text ?? ''),
    ts: h.ts || new Date().toISOString(), state: from === 'patient' ? (h.read ? 'read' : h.delivered ? 'delivered' : 'sent') : '' };
}

function clearLog() {
  byId.clear();
  byCid.clear();
  $('log').replaceChildren();
  delete $('log').dataset.day;
}

const timeFmt = () => new Intl.DateTimeFormat(S.lang, { hour: '2-digit', minute: '2-digit' });
const dayKey = (d) => d.getFullYear() + '-' + d.getMonth() + '-' + d.getDate();

function addMsg(m, live) {
  const log = $('log');
  const when = new Date(m.ts);
  const valid = !isNaN(when);
  // A day divider whenever the calendar day changes (not announced: aria-hidden).
  if (valid && log.dataset.day !== dayKey(when)) {
    log.dataset.day = dayKey(when);
    const today = dayKey(new Date()) === dayKey(when);
    const d = el('p', 'day', today ? t('today') : new Intl.DateTimeFormat(S.lang, { weekday: 'long', day: 'numeric', month: 'long' }).format(when));
    d.setAttribute('aria-hidden', 'true');
    log.append(d);
  }
  const box = el('div', 'msg ' + (m.from === 'patient' ? 'me' : m.from));
  m.who = el('span', 'who');
  m.bodyEl = el('p', 'text', m.text);
  m.meta = el('p', 'meta');
  m.timeEl = el('time');
  if (valid) m.timeEl.dateTime = when.toISOString();
  m.stateEl = el('span', 'state');
  m.meta.append(m.timeEl, m.stateEl);
  box.append(m.who, m.bodyEl, m.meta);
  m.el = box;
  if (m.id) byId.set(m.id, m);
  if (m.cid) byCid.set(m.cid, m);
  renderMeta(m);
  log.append(box);
  renderIntro();
  if (live) scrollDown(m.from === 'patient');
}

function renderMeta(m) {
  const when = new Date(m.ts);
  m.who.textContent = m.from === 'patient' ? t('you') : m.from === 'staff' ? (m.author || S.clinic || t('clinic')) : t('system');
  m.timeEl.textContent = isNaN(when) ? '' : timeFmt().format(when);
  m.stateEl.textContent = m.state ? ' · ' + t('st_' + m.state) : '';
  m.el.dataset.state = m.state || '';
}

// Mark this message and every earlier own message as delivered/read; never downgrade read.
function receipt(id, state) {
  const target = byId.get(String(id));
  if (!target) return;
  for (const m of byId.values()) {
    if (m.from !== 'patient') continue;
    if (m.state !== 'read') { m.state = state; renderMeta(m); }
    if (m === target) break;
  }
}

function lastStaffId() {
  let id = null;
  for (const m of byId.values()) if (m.from === 'staff') id = m.id;
  return id;
}

function markRead() {
  const id = lastStaffId();
  if (id && S.welcomed && id !== S.readSent) { send({ type: 'read', id }); S.readSent = id; }
  S.unread = 0;
  toParent({ caregate: 'unread', n: 0 });
}

function scrollDown(force) {
  const b = $('body');
  if (force || b.scrollHeight - b.scrollTop - b.clientHeight < 160) b.scrollTop = b.scrollHeight;
}

/* ---------- sending ---------- */

function dropOutbox(cid) {
  const n = S.outbox.length;
  S.outbox = S.outbox.filter((o) => o.client_id !== cid);
  if (S.outbox.length !== n) store.set('outbox', S.outbox);
}

function flush() {
  if (!S.welcomed) return;
  for (const o of S.outbox) {
    const p = byCid.get(o.client_id);
    if (p && p.sent) continue;
    if (send({ type: 'msg', client_id: o.client_id, text: o.text }) && p) {
      p.sent = true;
      p.state = 'sending';
      renderMeta(p);
    }
  }
}

function submit() {
  const ta = $('text');
  const text = ta.value.trim();
  if (!text || !S.accepted) return;
  if (S.maxBytes && new TextEncoder().encode(text).length > S.maxBytes) { notice(t('e_too_large')); return; }
  const o = { client_id: uuid(), text, ts: new Date().toISOString() };
  S.outbox.push(o);
  store.set('outbox', S.outbox);
  ta.value = '';
  S.lastTypingSent = 0; // the next message's typing is announced at once, not throttled
  hideNotice();
  addMsg({ cid: o.client_id, from: 'patient', text, ts: o.ts, state: S.welcomed ? 'sending' : 'queued' }, true);
  if (S.idle) { S.idle = false; connect(); } else flush();
}

function onTyping() {
  const now = Date.now();
  if (S.welcomed && $('text').value && now - S.lastTypingSent > TYPING_EVERY_MS) {
    S.lastTypingSent = now;
    send({ type: 'typing' });
  }
}

function setTyping(on) {
  clearTimeout(S.typingTimer);
  $('typing').textContent = on ? t('typing', { name: S.clinic || t('clinic') }) : '';
  if (on) S.typingTimer = setTimeout(() => setTyping(false), TYPING_SHOW_MS);
}

/* ---------- status, office hours, privacy, notices ---------- */

function renderStatus() {
  const st = $('status');
  let key;
  let cls;
  if (!S.accepted || S.idle) { key = ''; cls = 'none'; }
  else if (!S.welcomed) { key = S.everConnected || S.attempts > 0 ? 'offline' : 'connecting'; cls = 'off'; }
  else if (S.office && S.office.open === false) { key = 'closed_now'; cls = 'closed'; }
  else { key = 'open_now'; cls = 'on'; }
  st.dataset.state = cls;
  const mins = S.office && Number(S.office.first_reply_minutes || S.office.reply_minutes);
  $('status-text').textContent = key === 'offline' ? t('connecting') : key === 'open_now' && mins > 0 ? t('reply_in', { n: mins }) : key ? t(key) : '';
  const banner = $('banner');
  banner.hidden = key !== 'offline';
  banner.textContent = key === 'offline' ? t('offline') : '';
  for (const m of byCid.values()) {
    if (m.state === 'sending' && !S.welcomed) { m.state = 'queued'; m.sent = false; renderMeta(m); }
  }
}

const DEFAULT_EMERGENCY = [{ number: '112', label: 'em_112' }, { number: '116117', label: 'em_116117' }];

function renderOffice() {
  const o = S.office;
  const box = $('office');
  box.hidden = !(o && o.open === false);
  if (box.hidden) return;
  const when = o.next_open ? new Date(o.next_open) : null;
  $('office-next').textContent = when && !isNaN(when)
    ? t('closed_next', { when: new Intl.DateTimeFormat(S.lang, { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' }).format(when) })
    : t('closed_soon');
  const given = o.emergency || o.emergency_numbers;
  const list = Array.isArray(given) && given.length ? given : DEFAULT_EMERGENCY;
  const ul = $('emergency');
  ul.replaceChildren();
  for (const e of list) {
    const number = String(typeof e === 'string' ? e : e.number || '');
    if (!number) continue;
    let label = typeof e === 'string' ? '' : e.label || '';
    if (typeof label === 'object') label = label[S.lang] || label.en || label.de || '';
    const a = el('a', null);
    a.href = 'tel:' + number.replace(/[^\d+]/g, '');
    a.append(el('strong', null, number), el('span', null, String(label).startsWith('em_') ? t(label) : String(label)));
    const li = el('li');
    li.append(a);
    ul.append(li);
  }
}

function renderPrivacy() {
  $('privacy').hidden = S.accepted;
  $('text').disabled = !S.accepted;
  $('send').disabled = !S.accepted;
  renderIntro();
}

function renderIntro() {
  $('intro').hidden = !S.accepted || byId.size + byCid.size > 0;
}

function acceptPrivacy() {
  S.accepted = true;
  store.set('privacy', PV);
  renderPrivacy();
  // A new hello records the newly accepted version.
  if (S.ws) { const w = S.ws; S.ws = null; w.onclose = null; w.close(); }
  connect();
  renderStatus();
  $('text').focus();
}

function notice(text, kind) {
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind || 'warn';
  $('notice').hidden = false;
}

function hideNotice() { $('notice').hidden = true; }

/* ---------- menu, erase dialog, embedding ---------- */

function setMenu(open) {
  $('menu').hidden = !open;
  $('menu-btn').setAttribute('aria-expanded', String(open));
  if (open) $('m-privacy').focus();
}

function askErase() {
  setMenu(false);
  $('erase-dlg').showModal();
  $('erase-no').focus();
}

function confirmErase() {
  $('erase-dlg').close();
  if (!S.session) { handlers.erased(); return; }
  if (!send({ type: 'erase_request' })) { notice(t('erase_failed')); return; }
  S.eraseAsked = true;
}

function toParent(msg) {
  if (embedded) window.parent.postMessage(msg, '*'); // carries only counts and commands, never text
}

function setOpen(open) {
  S.open = open;
  if (open) {
    markRead();
    (S.accepted ? $('text') : $('privacy-ok')).focus();
  }
}

function init() {
  fillLangs();
  applyStrings();
  renderPrivacy();
  if (embedded) $('close').hidden = false;
  // Messages from an earlier page view that never reached the gateway: shown at once.
  for (const o of S.outbox) addMsg({ cid: o.client_id, from: 'patient', text: o.text, ts: o.ts, state: 'queued' }, false);

  $('privacy-ok').addEventListener('click', acceptPrivacy);
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  $('text').addEventListener('keydown', (e) => {
    // On touch screens Enter is a new line, as in messenger apps; the send button sends.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !matchMedia('(pointer:coarse)').matches) { e.preventDefault(); submit(); }
  });
  $('text').addEventListener('input', onTyping);
  $('notice-x').addEventListener('click', () => { hideNotice(); $('text').focus(); });
  $('menu-btn').addEventListener('click', () => setMenu($('menu').hidden));
  $('m-privacy').addEventListener('click', () => {
    setMenu(false);
    $('privacy').hidden = false;
    $('privacy-ok').focus();
  });
  $('m-erase').addEventListener('click', askErase);
  $('erase-no').addEventListener('click', () => $('erase-dlg').close());
  $('erase-yes').addEventListener('click', confirmErase);
  $('close').addEventListener('click', () => toParent({ caregate: 'close' }));
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || $('erase-dlg').open) return;
    if (!$('menu').hidden) { setMenu(false); $('menu-btn').focus(); } else if (embedded) toParent({ caregate: 'close' });
  });
  document.addEventListener('click', (e) => {
    if (!$('menu').hidden && !e.target.closest('#menu, #menu-btn')) setMenu(false);
  });
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || !e.data || typeof e.data !== 'object') return;
    if (e.data.caregate === 'open') setOpen(true);
    if (e.data.caregate === 'hidden') S.open = false;
  });
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') { reconnectNow(); if (S.open) markRead(); }
  });
  if (S.accepted) connect();
  renderStatus();
  if (!embedded) (S.accepted ? $('text') : $('privacy-ok')).focus();
}

init();
