// SPDX-License-Identifier: Apache-2.0
// The staff console: POST /api/login (the gateway sets an HttpOnly session cookie), then
// caregate.staff.v1 over /ws/staff: queue with waiting times, filters and unread counts; opening a
// conversation (an audited access, so moving through the list with j/k does NOT open anything);
// replies and private notes with client_ids; canned answers; status and assignment. Previews are
// shown exactly as the gateway sends them (already redacted); the console never builds its own.

import { CANNED, CLINIC_DEFAULTS, fillCanned } from './canned.js';
import { translator } from '../i18n.js';
import { STR, pickLang } from './strings.js';

const LANG = pickLang(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
const cats = translator(LANG, 'Sie').cat;
const t = (k, v) => {
  const s = STR[LANG][k] ?? STR.de[k] ?? k;
  return v ? s.replace(/\{(\w+)\}/g, (m, x) => (x in v ? String(v[x]) : m)) : s;
};

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
const uuid = () => crypto.randomUUID();
// Conversation ids are UUIDs: the first 8 hex digits are enough for people to tell them apart.
const shortId = (id) => (/^[0-9a-f]{8}-/i.test(id) ? id.slice(0, 8) : id);
const FILTERS = ['mine', 'unassigned', 'all', 'done'];

const S = {
  me: null, ws: null, opened: false, attempts: 0, timer: 0,
  convs: new Map(),      // id -> summary from queue/conversation frames (+ local unread)
  openId: null,          // the conversation whose history is shown
  cursor: null,          // the highlighted queue entry (j/k), not necessarily opened
  filter: sessionStorage.getItem('caregate.filter') || 'unassigned',
  pending: new Map(),    // client_id -> {el, text, kind, conversation}
  shown: new Set(),      // message ids in the open conversation
  phone: CLINIC_DEFAULTS.phone, addressForm: 'Sie', lastTyping: 0, typingTimer: 0,
  staff: new Map(),      // id -> {id, alias, role, on_shift} from staff_list (no e-mails)
  staffAsked: 0,         // when staff_list was last requested (unknown assignee)
  canned: CANNED,        // the server's canned answers ({id,title,text}) or the local list (canned.js)
  onShift: null,         // own shift state (welcome / shift frames)
};

/* ---------- login ---------- */

function showLogin(msg) {
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  clearTimeout(S.timer);
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('email').focus();
}

async function login(e) {
  e.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) { $('login-error').textContent = t('login_missing'); return; }
  $('login-btn').disabled = true;
  try {
    const totp = $('totp-row').hidden ? '' : $('totp').value.trim();
    const r = await fetch('../api/login', {
      method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin',
      body: JSON.stringify(totp ? { email, password, totp } : { email, password }),
    });
    if (r.status === 401 || r.status === 429) {
      // Second factor (TOTP) and throttling answers name themselves; anything else is generic.
      const err = await r.json().catch(() => ({}));
      const code = err.code || err.error;
      if (code === 'totp_required' || code === 'totp_invalid') {
        $('totp-row').hidden = false;
        $('totp').value = '';
        $('totp').focus();
        $('login-error').textContent = t(code);
        return;
      }
      if (r.status === 429) { $('login-error').textContent = t('login_wait', { s: err.retry_after || 60 }); return; }
    }
    if (r.status === 401 || r.status === 403) { $('login-error').textContent = t('login_bad'); return; }
    if (!r.ok) { $('login-error').textContent = t('login_err', { code: r.status }); return; }
    const body = await r.json().catch(() => ({}));
    S.me = body.staff || null;
    sessionStorage.setItem('caregate.staff', JSON.stringify(S.me));
    $('password').value = '';
    $('totp').value = '';
    $('totp-row').hidden = true;
    startApp();
  } catch {
    $('login-error').textContent = t('login_err', { code: 'network' });
  } finally {
    $('login-btn').disabled = false;
  }
}

async function logout() {
  sessionStorage.removeItem('caregate.staff');
  // Logout endpoint: an extension; the cookie is HttpOnly, so only the gateway can clear it.
  try { await fetch('../api/logout', { method: 'POST', credentials: 'same-origin' }); } catch { /* offline */ }
  S.me = null;
  S.convs.clear();
  S.openId = null;
  showLogin('');
}

/* ---------- connection ---------- */

function startApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = S.me ? [S.me.alias, S.me.role].filter(Boolean).join(' · ') : '';
  connect();
}

function connect() {
  clearTimeout(S.timer);
  const url = new URL('../ws/staff', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  setConn('connecting');
  let ws;
  try { ws = new WebSocket(url, 'caregate.staff.v1'); } catch { retry(); return; }
  S.ws = ws;
  let opened = false;
  ws.onopen = () => { opened = true; S.attempts = 0; setConn('online'); };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m && typeof m.type === 'string' && Object.prototype.hasOwnProperty.call(H, m.type)) H[m.type](m);
  };
  ws.onclose = async () => {
    if (S.ws !== ws) return;
    S.ws = null;
    setConn('offline');
    if (!opened) {
      // The browser hides the upgrade's HTTP status. If the gateway is up but refused us, the
      // session cookie is missing or expired: ask for a login instead of retrying forever.
      const up = await fetch('../healthz', { cache: 'no-store' }).then((r) => r.ok, () => false);
      if (up) { showLogin(S.me ? t('login_expired') : ''); return; }
    }
    retry();
  };
}

function retry() {
  const d = Math.min(20000, 700 * 2 ** S.attempts) * (0.6 + Math.random() * 0.4);
  S.attempts = Math.min(S.attempts + 1, 8);
  S.timer = setTimeout(connect, d);
}

function send(obj) {
  if (S.ws && S.ws.readyState === 1) { S.ws.send(JSON.stringify(obj)); return true; }
  return false;
}

function setConn(state) {
  $('conn').textContent = t(state);
  $('conn').dataset.state = state;
}

/* ---------- frames ---------- */

const H = {
  queue(m) {
    S.convs.clear();
    for (const c of m.conversations || []) S.convs.set(String(c.id), { unread: 0, ...c, id: String(c.id) });
    renderQueue();
    if (S.openId && S.convs.has(S.openId)) openConv(S.openId, false); // re-fetch after a reconnect
  },
  conversation(m) {
    const id = String(m.id);
    if (m.status === 'erased' || m.removed) {
      S.convs.delete(id);
      if (S.openId === id) closeConv();
    } else {
      const old = S.convs.get(id) || { unread: 0 };
      const next = { ...old, ...m, id };
      delete next.type;
      S.convs.set(id, next);
    }
    renderQueue();
    if (S.openId === id) renderConvHead();
  },
  history(m) {
    const id = String(m.conversation);
    if (id !== S.openId) return;
    $('messages').replaceChildren();
    S.shown.clear();
    for (const x of m.messages || []) addMessage(x);
    scrollDown();
    markRead();
  },
  msg(m) {
    // Our own reply or note, fanned out to every console, may overtake its ack.
    if (m.client_id && S.pending.has(m.client_id)) { H.ack(m); return; }
    const id = String(m.conversation);
    if (id === S.openId) {
      addMessage(m);
      scrollDown();
      if (m.from === 'patient') {
        setTyping(false);
        if (document.visibilityState === 'visible') markRead(); else notify(id);
      }
      return;
    }
    const c = S.convs.get(id);
    if (c && m.from === 'patient') { c.unread = (c.unread || 0) + 1; renderQueue(); }
    if (m.from === 'patient') notify(id);
  },
  note(m) { if (String(m.conversation) === S.openId) addMessage({ ...m, from: 'note' }); },
  ack(m) {
    const p = S.pending.get(m.client_id);
    if (!p) return;
    S.pending.delete(m.client_id);
    if (m.id && S.shown.has(String(m.id))) { p.el.remove(); return; }
    if (m.id) { S.shown.add(String(m.id)); p.el.dataset.id = m.id; }
    p.el.dataset.state = 'sent';
    p.stateEl.textContent = '✓ ' + t('sent');
  },
  typing(m) { if (String(m.conversation) === S.openId) setTyping(true); },
  error(m) { onError(m); },
  // The gateway's greeting on connect (extension): who am I, and clinic settings used by the
  // canned answers. "me"/"config" are accepted as aliases.
  welcome(m) {
    if (m.staff && m.staff.id != null) {
      S.me = { id: String(m.staff.id), role: m.staff.role, alias: m.staff.alias };
      if (typeof m.staff.on_shift === 'boolean') setShift(m.staff.on_shift);
      sessionStorage.setItem('caregate.staff', JSON.stringify(S.me));
      $('me').textContent = [S.me.alias, S.me.role].filter(Boolean).join(' · ');
    }
    const phone = m.clinic_phone || (m.clinic && m.clinic.phone);
    if (phone) S.phone = String(phone);
    if (m.address_form === 'Sie' || m.address_form === 'Du') S.addressForm = m.address_form;
    if (m.first_reply_minutes) S.firstReply = Number(m.first_reply_minutes);
  },
  staff_list(m) {
    S.staff.clear();
    for (const x of m.staff || []) if (x && x.id != null) S.staff.set(String(x.id), { ...x, id: String(x.id) });
    renderHandoff();
    renderQueue();
    if (S.openId) renderConvHead();
  },
  // The clinic's canned answers from the gateway; the local list (canned.js) only when it has none.
  canned(m) {
    const list = Array.isArray(m.answers) ? m.answers.filter((a) => a && a.id != null && typeof a.text === 'string') : [];
    S.canned = list.length ? list.map((a) => ({ id: String(a.id), title: String(a.title || a.id), sie: a.text, du: a.text })) : CANNED;
    renderCannedOptions();
  },
  shift(m) {
    setShift(!!m.on);
    send({ type: 'staff_list' }); // colleagues see the marker; keep ours in step
  },
  me(m) { H.welcome(m); },
  config(m) { H.welcome(m); },
};

function onError(m) {
  const code = String(m.code || 'internal');
  if (code === 'unauthorized') { showLogin(t('login_expired')); return; }
  const p = m.client_id ? S.pending.get(m.client_id) : null;
  let text;
  if (code === 'policy_blocked') {
    const list = (m.findings || []).map((f) => `${cats(f.category)} (${f.count ?? 1})`);
    text = t('e_policy_blocked', { cats: list.join(', ') || '–' });
  } else text = STR.de['e_' + code] ? t('e_' + code) : t('e_generic', { code });
  if (p) {
    S.pending.delete(m.client_id);
    p.el.remove();
    // Give the text back so it can be fixed, unless something new was typed meanwhile.
    if (p.conversation === S.openId && !$('reply-text').value) $('reply-text').value = p.text;
  }
  const box = $('reply-error');
  box.replaceChildren(el('p', null, text));
  if (code === 'policy_blocked' && Array.isArray(m.findings) && m.findings.length) {
    const ul = el('ul', 'findings');
    for (const f of m.findings) ul.append(el('li', null, `${cats(f.category)} · ${f.category} · ${f.count ?? 1}`));
    box.append(ul);
  }
  // The gateway says when this sender may send it anyway: health data then goes out redacted,
  // an id or IBAN as written; either way the override is audited (policy.override).
  if (code === 'policy_blocked' && m.override_allowed === true && p && p.kind === 'reply') {
    const b = el('button', 'btn', t(m.override_redacts === true ? 'ov_redact' : 'ov_confirm'));
    b.type = 'button';
    b.id = 'override';
    b.addEventListener('click', () => submitReply(null, true));
    box.append(b, el('p', 'small', t('ov_logged')));
  }
  box.hidden = false;
}

/* ---------- queue ---------- */

function inFilter(c, f) {
  const mine = S.me && c.assignee != null && String(c.assignee) === String(S.me.id);
  if (f === 'done') return c.status === 'done';
  if (c.status === 'done') return false;
  if (f === 'mine') return mine;
  if (f === 'unassigned') return c.assignee == null || c.assignee === '';
  return true;
}

function sortedVisible() {
  const list = [...S.convs.values()].filter((c) => inFilter(c, S.filter));
  // Longest waiting first; answered ones after, most recent activity first.
  const w = (c) => (c.waiting_since ? Date.parse(c.waiting_since) : Infinity);
  const last = (c) => Date.parse(c.last_message_at || c.waiting_since || 0) || 0;
  return list.sort((a, b) => (w(a) - w(b)) || (last(b) - last(a)) || String(b.id).localeCompare(String(a.id), undefined, { numeric: true }));
}

function ago(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!(ms >= 0)) return '';
  const min = Math.floor(ms / 60000);
  if (min < 1) return t('now');
  if (min < 60) return t('min', { n: min });
  if (min < 48 * 60) return t('hours', { n: Math.floor(min / 60) });
  return t('days', { n: Math.floor(min / 1440) });
}

function renderQueue() {
  for (const b of $('filters').querySelectorAll('button')) {
    const f = b.dataset.filter;
    b.setAttribute('aria-pressed', String(f === S.filter));
    let n = 0;
    for (const c of S.convs.values()) if (inFilter(c, f)) n++;
    b.querySelector('.n').textContent = String(n);
  }
  const list = $('list');
  const items = sortedVisible();
  const focusedId = document.activeElement && document.activeElement.closest('#list') ? document.activeElement.dataset.id : null;
  list.replaceChildren();
  for (const c of items) {
    const li = el('li');
    const b = el('button', 'item');
    b.type = 'button';
    b.dataset.id = c.id;
    if (c.id === S.openId) b.setAttribute('aria-current', 'true');
    if (c.id === S.cursor) b.classList.add('cursor');
    const top = el('span', 'item-top');
    top.append(el('span', 'chan chan-' + (c.channel || 'web'), t('ch_' + (c.channel || 'web'))));
    const wait = el('span', 'wait');
    if (c.waiting_since && c.status !== 'done') {
      const min = (Date.now() - Date.parse(c.waiting_since)) / 60000;
      wait.textContent = t('waiting', { t: ago(c.waiting_since) });
      // First-reply clock against the policy's target: green, amber in the last third, red after.
      const target = Number(c.first_reply_minutes || S.firstReply || 30);
      wait.dataset.level = min > target ? 'high' : min > target * 2 / 3 ? 'mid' : 'low';
      if (!c.first_reply_at) {
        const left = Math.round(target - min);
        const clock = el('span', 'clock', left >= 0 ? t('reply_due', { m: left }) : t('reply_over', { m: -left }));
        clock.dataset.level = wait.dataset.level;
        wait.append(' · ', clock);
      }
    } else wait.textContent = t('s_' + c.status) || '';
    top.append(wait);
    if (c.unread > 0) {
      const u = el('span', 'badge', String(c.unread));
      u.setAttribute('aria-label', t('unread', { n: c.unread }));
      top.append(u);
    }
    const prev = el('span', c.preview ? 'preview' : 'preview none', c.preview || t('no_preview'));
    const bottom = el('span', 'item-bottom');
    bottom.append(el('span', null, t('conv_title', { id: shortId(c.id) })));
    bottom.append(el('span', 'assignee', assigneeText(c)));
    b.append(top, prev, bottom);
    li.append(b);
    list.append(li);
  }
  $('list-empty').hidden = items.length > 0;
  if (focusedId) list.querySelector(`[data-id="${CSS.escape(focusedId)}"]`)?.focus();
  let unread = 0;
  for (const c of S.convs.values()) unread += c.unread || 0;
  document.title = (unread ? `(${unread}) ` : '') + 'caregate · ' + t('console');
}

function assigneeText(c) {
  if (c.assignee == null || c.assignee === '') return t('unassigned');
  if (S.me && String(c.assignee) === String(S.me.id)) return t('assigned_me');
  const who = S.staff.get(String(c.assignee));
  if (!who) askStaffList();
  return t('assigned_other', { who: who ? who.alias : c.assignee_alias || shortId(String(c.assignee)) });
}

// An assignee we do not know (a colleague added since the last staff_list): ask again, not too often.
function askStaffList() {
  const now = Date.now();
  if (now - S.staffAsked < 10000) return;
  if (send({ type: 'staff_list' })) S.staffAsked = now;
}

function renderHandoff() {
  const sel = $('handoff');
  const c = S.convs.get(S.openId);
  const colleagues = [...S.staff.values()].filter((x) => !S.me || x.id !== String(S.me.id));
  sel.replaceChildren(new Option(t(colleagues.length ? 'handoff_pick' : 'handoff_none'), ''));
  for (const x of colleagues) {
    const o = new Option(x.on_shift ? `${x.alias} ${t('on_shift_mark')}` : x.alias, x.id);
    if (c && c.assignee != null && String(c.assignee) === x.id) o.disabled = true; // already theirs
    sel.append(o);
  }
  sel.value = ''; // stays focusable when empty: focusing it asks for the list again
}

function handOff() {
  const sel = $('handoff');
  const id = sel.value;
  sel.value = '';
  if (id && S.openId) send({ type: 'assign', conversation: S.openId, staff: id });
}

function renderCannedOptions() {
  const sel = $('canned');
  sel.replaceChildren(new Option(t('canned_pick'), ''));
  for (const c of S.canned) sel.append(new Option(c.title, c.id));
}

function setShift(on) {
  S.onShift = on;
  const b = $('shift');
  b.setAttribute('aria-pressed', String(on));
  b.dataset.on = String(on);
  $('shift-label').textContent = t(on ? 'on_shift' : 'off_shift');
}

function toggleShift() {
  if (S.onShift == null) return;
  send({ type: 'shift', on: !S.onShift });
}

/* ---------- desktop notifications ---------- */

// A notification may show on a lock screen or a shared monitor, so it carries the short
// conversation id and the channel only: no message text, no preview, no name. It is opt-in per
// browser (localStorage) and needs the browser's permission, asked for on the click.
const notifyOn = () => localStorage.getItem('caregate.notify') === '1' && window.Notification?.permission === 'granted';

function renderNotify() {
  const b = $('notify');
  if (!('Notification' in window)) { b.hidden = true; return; }
  b.hidden = false;
  const on = notifyOn();
  b.setAttribute('aria-pressed', String(on));
  $('notify-label').textContent = t(on ? 'notify_on' : 'notify_off');
}

async function toggleNotify() {
  if (notifyOn()) {
    localStorage.removeItem('caregate.notify');
  } else {
    const p = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    if (p !== 'granted') { renderNotify(); $('notify-label').textContent = t('notify_denied'); return; }
    localStorage.setItem('caregate.notify', '1');
  }
  renderNotify();
}

function notify(id) {
  if (!notifyOn()) return;
  const c = S.convs.get(id) || {};
  const n = new Notification(t('n_title'), {
    body: t('n_body', { id: shortId(id), ch: t('ch_' + (c.channel || 'web')) }),
    tag: 'caregate-' + shortId(id), // one per conversation: a second message replaces the first
  });
  n.onclick = () => { window.focus(); openConv(id); n.close(); };
}

function setFilter(f) {
  S.filter = f;
  sessionStorage.setItem('caregate.filter', f);
  renderQueue();
}

function moveCursor(delta) {
  const items = sortedVisible();
  if (!items.length) return;
  let i = items.findIndex((c) => c.id === (S.cursor || S.openId));
  i = i < 0 ? 0 : Math.max(0, Math.min(items.length - 1, i + delta));
  S.cursor = items[i].id;
  renderQueue();
  $('list').querySelector(`[data-id="${CSS.escape(S.cursor)}"]`)?.focus();
}

/* ---------- conversation ---------- */

function openConv(id, focusReply = true) {
  S.openId = id;
  S.cursor = id;
  S.shown.clear();
  $('placeholder').hidden = true;
  $('conv-inner').hidden = false;
  $('messages').replaceChildren();
  $('reply-error').hidden = true;
  setTyping(false);
  const c = S.convs.get(id);
  if (c) c.unread = 0;
  renderQueue();
  renderConvHead();
  send({ type: 'open', conversation: id });
  send({ type: 'staff_list' }); // fresh colleagues and shift markers for handing over
  if (focusReply) $('reply-text').focus();
}

function closeConv() {
  S.openId = null;
  $('placeholder').hidden = false;
  $('conv-inner').hidden = true;
}

function renderConvHead() {
  const c = S.convs.get(S.openId);
  if (!c) return;
  $('conv-h').textContent = t('conv_title', { id: shortId(c.id) });
  $('conv-h').title = c.id;
  const bits = [t('ch_' + (c.channel || 'web')), t('s_' + c.status), assigneeText(c)];
  if (c.lang) bits.push(t('lang', { l: String(c.lang).toUpperCase() }));
  if (c.waiting_since && c.status !== 'done') bits.push(t('waiting', { t: ago(c.waiting_since) }));
  if (c.status === 'snoozed' && c.snoozed_until && !isNaN(Date.parse(c.snoozed_until))) bits.push(t('snoozed_until', { t: timeFmt.format(new Date(c.snoozed_until)) }));
  // WhatsApp / Messenger / Instagram: the platform's messaging window and the channel state.
  const br = c.bridge;
  if (br && br.window) {
    const s = Math.max(0, Number(br.window_remaining_s) || 0);
    const left = s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : `${Math.ceil(s / 60)} min`;
    bits.push(t('w_' + br.window, { t: left }));
  }
  if (br && br.channel_state && br.channel_state !== 'active') bits.push(t('ch_' + br.channel_state));
  $('conv-sub').textContent = bits.join(' · ');
  const mine = S.me && c.assignee != null && String(c.assignee) === String(S.me.id);
  $('take').textContent = mine ? t('release') : t('take');
  $('take').dataset.mine = String(!!mine);
  for (const b of $('status-btns').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.status === c.status));
  renderHandoff();
}

const timeFmt = new Intl.DateTimeFormat(LANG, { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });

function addMessage(m) {
  const id = m.id != null ? String(m.id) : null;
  if (id && S.shown.has(id)) return null;
  if (id) S.shown.add(id);
  const kind = m.type === 'note' || m.kind === 'note' || m.from === 'note' ? 'note' : m.from === 'staff' ? 'staff' : m.from === 'patient' ? 'patient' : 'system';
  const box = el('div', 'm ' + kind);
  if (id) box.dataset.id = id;
  const head = el('p', 'm-head');
  const who = kind === 'patient' ? t('patient') : kind === 'note' ? `${t('note')} · ${m.author || ''}` : (m.author || '');
  head.append(el('span', 'm-who', who));
  const when = new Date(m.ts || Date.now());
  const time = el('time', null, isNaN(when) ? '' : timeFmt.format(when));
  if (!isNaN(when)) time.dateTime = when.toISOString();
  head.append(time);
  const stateEl = el('span', 'm-state');
  head.append(stateEl);
  box.append(head, el('p', 'm-text', String(m.text ?? '')));
  $('messages').append(box);
  return { el: box, stateEl };
}

function scrollDown() { const x = $('messages'); x.scrollTop = x.scrollHeight; }

function markRead() {
  const last = [...$('messages').querySelectorAll('.m.patient[data-id]')].pop();
  if (last && S.openId) send({ type: 'read', conversation: S.openId, id: last.dataset.id });
}

function setTyping(on) {
  clearTimeout(S.typingTimer);
  $('typing').textContent = on ? t('typing') : '';
  if (on) S.typingTimer = setTimeout(() => setTyping(false), 6000);
}

function mode() { return document.querySelector('input[name="mode"]:checked').value; }

function setMode(m) {
  document.querySelector(`input[name="mode"][value="${m}"]`).checked = true;
  $('reply').dataset.mode = m;
  $('reply-label').textContent = t(m === 'note' ? 'note_label' : 'reply_label');
  $('reply-send').textContent = t(m === 'note' ? 'save_note' : 'send');
}

function submitReply(e, override = false) {
  if (e) e.preventDefault();
  const text = $('reply-text').value.trim();
  if (!text || !S.openId) return;
  const kind = mode();
  const client_id = uuid();
  const frame = kind === 'note'
    ? { type: 'note', conversation: S.openId, client_id, text }
    : { type: 'reply', conversation: S.openId, client_id, text, ...(override ? { override: true } : {}) };
  if (!send(frame)) { onError({ code: 'offline' }); return; }
  const r = addMessage({ from: kind === 'note' ? 'note' : 'staff', author: kind === 'note' ? S.me?.alias : S.me?.alias || t('m_reply'), text, ts: new Date().toISOString() });
  r.el.dataset.state = 'sending';
  r.stateEl.textContent = t('sending');
  S.pending.set(client_id, { ...r, text, kind, conversation: S.openId });
  $('reply-text').value = '';
  $('reply-error').hidden = true;
  scrollDown();
}

function insertCanned() {
  const sel = $('canned');
  const item = S.canned.find((c) => c.id === sel.value);
  sel.value = '';
  if (!item) return;
  const c = S.convs.get(S.openId) || {};
  const form = c.address_form || S.addressForm;
  const text = fillCanned(item, form, { patient_name: c.patient_name || '', clinic_phone: c.clinic_phone || S.phone, address_form: form });
  const ta = $('reply-text');
  ta.value = ta.value ? ta.value.replace(/\s*$/, ' ') + text : text;
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
}

function toggleTake() {
  const c = S.convs.get(S.openId);
  if (!c || !S.me) return;
  const mine = c.assignee != null && String(c.assignee) === String(S.me.id);
  send({ type: 'assign', conversation: c.id, staff: mine ? null : S.me.id });
}

function setStatus(status) {
  if (!S.openId) return;
  if (status === 'snoozed') { openSnooze(); return; }
  send({ type: 'status', conversation: S.openId, status });
}

/* ---------- snooze: ask for a time ---------- */

function pad2(n) { return String(n).padStart(2, '0'); }
function localInput(d) { return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`; }

function snoozeTime(kind) {
  const d = new Date();
  if (kind === '1h') return new Date(d.getTime() + 3600e3);
  if (kind === '4h') return new Date(d.getTime() + 4 * 3600e3);
  if (kind === 'tomorrow') { d.setDate(d.getDate() + 1); d.setHours(8, 0, 0, 0); return d; }
  return null;
}

function openSnooze() {
  const dlg = $('snooze');
  S.snoozeConv = S.openId;
  $('snooze-error').textContent = '';
  const at = $('snooze-at');
  at.min = localInput(new Date());
  at.value = localInput(snoozeTime('tomorrow'));
  dlg.showModal();
  dlg.querySelector('[data-snooze]').focus();
}

function snoozeUntil(d) {
  if (!(d instanceof Date) || isNaN(d) || d.getTime() <= Date.now()) { $('snooze-error').textContent = t('snooze_bad'); return; }
  if (S.snoozeConv) send({ type: 'status', conversation: S.snoozeConv, status: 'snoozed', until: d.toISOString() });
  $('snooze').close();
}

/* ---------- keyboard ---------- */

function onKey(e) {
  if ($('app').hidden || $('keys').open || $('snooze').open) return;
  const inField = e.target.closest('input, textarea, select');
  if (e.target.id === 'reply-text' && e.key === 'Enter' && (e.altKey || e.ctrlKey || e.metaKey)) { e.preventDefault(); submitReply(); return; }
  if (e.key === 'Escape' && inField) {
    e.target.blur();
    const id = S.openId || S.cursor;
    const b = id && $('list').querySelector(`[data-id="${CSS.escape(id)}"]`);
    (b || $('list')).focus();
    return;
  }
  if (inField || e.altKey || e.ctrlKey || e.metaKey) return;
  const k = e.key;
  if (k === 'j' || k === 'ArrowDown' && e.target.closest('#list')) { e.preventDefault(); moveCursor(1); }
  else if (k === 'k' || k === 'ArrowUp' && e.target.closest('#list')) { e.preventDefault(); moveCursor(-1); }
  else if (k === 'o' && S.cursor) openConv(S.cursor);
  else if (k === 'r' && S.openId) { e.preventDefault(); setMode('reply'); $('reply-text').focus(); }
  else if (k === 'n' && S.openId) { e.preventDefault(); setMode('note'); $('reply-text').focus(); }
  else if (k === 't' && S.openId) toggleTake();
  else if (k === 'e' && S.openId) setStatus('done');
  else if (k >= '1' && k <= '4') setFilter(FILTERS[Number(k) - 1]);
  else if (k === '?') $('keys').showModal();
}

/* ---------- start ---------- */

function init() {
  document.documentElement.lang = LANG;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  renderCannedOptions();
  $('canned').addEventListener('change', insertCanned);
  renderHandoff();
  $('handoff').addEventListener('change', handOff);
  $('handoff').addEventListener('focus', () => send({ type: 'staff_list' }));
  $('shift').addEventListener('click', toggleShift);
  $('notify').addEventListener('click', toggleNotify);
  renderNotify();
  $('snooze-quick').addEventListener('click', (e) => { const b = e.target.closest('button[data-snooze]'); if (b) snoozeUntil(snoozeTime(b.dataset.snooze)); });
  $('snooze-form').addEventListener('submit', (e) => { e.preventDefault(); snoozeUntil(new Date($('snooze-at').value)); });
  $('snooze-cancel').addEventListener('click', () => $('snooze').close());
  $('snooze').addEventListener('close', () => $('status-btns').querySelector('[data-status="snoozed"]')?.focus());
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('keys-btn').addEventListener('click', () => $('keys').showModal());
  $('filters').addEventListener('click', (e) => { const b = e.target.closest('button'); if (b) setFilter(b.dataset.filter); });
  $('list').addEventListener('click', (e) => { const b = e.target.closest('button.item'); if (b) openConv(b.dataset.id); });
  $('list').addEventListener('focusin', (e) => { const b = e.target.closest('button.item'); if (b) S.cursor = b.dataset.id; });
  $('reply').addEventListener('submit', submitReply);
  $('mode').addEventListener('change', () => setMode(mode()));
  $('take').addEventListener('click', toggleTake);
  $('status-btns').addEventListener('click', (e) => { const b = e.target.closest('button'); if (b) setStatus(b.dataset.status); });
  $('reply-text').addEventListener('input', () => {
    const now = Date.now();
    if (mode() === 'reply' && S.openId && now - S.lastTyping > 3000) { S.lastTyping = now; send({ type: 'typing', conversation: S.openId }); }
  });
  document.addEventListener('keydown', onKey);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible' && S.openId) markRead(); });
  setInterval(() => { renderQueue(); if (S.openId) renderConvHead(); }, 30000);
  setMode('reply');
  try { S.me = JSON.parse(sessionStorage.getItem('caregate.staff') || 'null'); } catch { S.me = null; }
  // With a remembered login, try the socket first; an expired cookie leads back to the form.
  if (S.me) startApp(); else showLogin('');
}

init();
