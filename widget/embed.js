// SPDX-License-Identifier: Apache-2.0
// The one-script-tag embed for clinic websites:
//   <script src="https://gateway.example/embed.js" data-lang="de" async></script>
// (optional data-clinic="Name" shows the name before the first connection).
// It adds a launcher button (in a shadow root, styled only by embed.css from the gateway, so
// the site's CSS cannot reach it) and, on first use, an iframe with chat.html from the gateway's
// origin. No inline script or style is created, so strict CSPs work; the page and the chat talk
// only through postMessage with commands and an unread count, never message text.
(function () {
  'use strict';
  if (window.__caregateEmbed) return;
  window.__caregateEmbed = true;

  var me = document.currentScript || document.querySelector('script[src$="embed.js"]');
  if (!me) return;
  var base = new URL('./', me.src);
  var lang = String(me.getAttribute('data-lang') || document.documentElement.lang || navigator.language || 'de')
    .slice(0, 2).toLowerCase();
  var T = {
    de: ['Chat', 'Chat mit der Praxis öffnen', 'Chat schließen', 'neue Nachricht'],
    en: ['Chat', 'Open chat with the clinic', 'Close chat', 'new message'],
    pl: ['Czat', 'Otwórz czat z placówką', 'Zamknij czat', 'nowa wiadomość'],
    hu: ['Chat', 'Chat megnyitása a rendelővel', 'Chat bezárása', 'új üzenet'],
  }[lang] || ['Chat', 'Open chat', 'Close chat', 'new message'];
  var KEY = 'caregate.embed.open';

  var host = document.createElement('div');
  host.setAttribute('data-caregate', '');
  var root = host.attachShadow({ mode: 'open' });
  // Static markup only (no inline style or script): allowed under a strict CSP.
  root.innerHTML = '<link rel="stylesheet"><div class="wrap" hidden><div class="panel" hidden></div>' +
    '<button type="button" class="launcher" aria-expanded="false"><svg viewBox="0 0 24 24" aria-hidden="true" ' +
    'focusable="false"><path d="M4 4h16a2 2 0 012 2v10a2 2 0 01-2 2H9l-5 4v-4a2 2 0 01-2-2V6a2 2 0 012-2z"/></svg>' +
    '<span class="label"></span><span class="badge" hidden></span></button></div>';
  var $ = function (sel) { return root.querySelector(sel); };
  var wrap = $('.wrap');
  var panel = $('.panel');
  var btn = $('.launcher');
  var badge = $('.badge');
  var css = $('link');
  css.onload = function () { wrap.hidden = false; }; // no flash of an unstyled button
  css.href = new URL('embed.css', base).href;
  $('.label').textContent = T[0];
  btn.setAttribute('aria-label', T[1]);
  var frame = null;

  function ensureFrame() {
    if (frame) return;
    frame = document.createElement('iframe');
    frame.title = T[0];
    // data-clinic only fills the header until the gateway's welcome names the clinic.
    var clinic = me.getAttribute('data-clinic');
    frame.src = new URL('chat.html?embed=1&lang=' + encodeURIComponent(lang) +
      (clinic ? '&clinic=' + encodeURIComponent(clinic.slice(0, 80)) : ''), base).href;
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.addEventListener('load', function () { if (!panel.hidden) tell('open'); });
    panel.appendChild(frame);
  }

  function tell(cmd) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage({ caregate: cmd }, base.origin);
  }

  function show(open) {
    if (open) ensureFrame();
    panel.hidden = !open;
    wrap.classList.toggle('open', open);
    btn.setAttribute('aria-expanded', String(open));
    btn.setAttribute('aria-label', open ? T[2] : T[1]);
  }

  function setOpen(open, focusBack) {
    show(open);
    try { sessionStorage.setItem(KEY, open ? '1' : ''); } catch (e) { /* storage off: no memory */ }
    if (open) {
      badge.hidden = true;
      frame.focus();
      tell('open');
    } else {
      tell('hidden');
      if (focusBack) btn.focus();
    }
  }

  btn.addEventListener('click', function () { setOpen(panel.hidden, false); });
  window.addEventListener('message', function (e) {
    if (e.origin !== base.origin || !frame || e.source !== frame.contentWindow) return;
    var d = e.data || {};
    if (d.caregate === 'close') setOpen(false, true);
    if (d.caregate === 'unread' && panel.hidden) {
      var n = Number(d.n) || 0;
      badge.hidden = n === 0;
      badge.textContent = n > 9 ? '9+' : String(n);
      btn.setAttribute('aria-label', T[1] + (n ? ' (' + n + ' ' + T[3] + ')' : ''));
    }
  });

  function mount() {
    document.body.appendChild(host);
    try { if (sessionStorage.getItem(KEY)) show(true); } catch (e) { /* storage off */ }
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
